import { EXIT_OK } from '../../cmd/flags.js';
import { describeError } from './errors.js';
import { processIO, type CliIO } from './io.js';
import { translateKubeError } from './kube.js';

/**
 * Runs a command body and turns any error into `error: <message> [<code>]` on stderr plus its exit
 * code, so scripts get a stable code and stdout never carries half a result.
 */
export async function runCommand(io: CliIO, body: () => Promise<number | void>): Promise<number> {
  try {
    return (await body()) ?? EXIT_OK;
  } catch (caught) {
    const err = translateKubeError(caught);
    const d = describeError(err);
    io.err(`error: ${d.message} [${d.code}]\n`);
    if (d.hint) io.err(`hint: ${d.hint}\n`);
    if (
      d.code === 'ECLI_INTERNAL' &&
      err instanceof Error &&
      err.stack &&
      process.env.KUBECTL_FLANNEL_DEBUG
    )
      io.err(`${err.stack}\n`);
    return d.exitCode;
  }
}

export { processIO };
