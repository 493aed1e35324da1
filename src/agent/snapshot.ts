/**
 * Entry of the agent's V8 startup snapshot, the way the image runs the agent:
 *
 *   node --snapshot-blob /opt/flannel-operator/agent.blob agent [flags]
 *
 * hack/image/bundle.js bundles this file and everything it imports into one CommonJS script, and
 * the image build runs it once under `--build-snapshot` with the agent's V8 flags
 * (AGENT_NODE_OPTIONS). The blob holds the agent's modules already evaluated, the bytecode of the
 * pass code warm-up.ts runs, and the code cache of Node's built-in modules compiled under those
 * flags (with any V8 flag set, Node rejects the cache built into its binary and compiles each
 * built-in from source). At 1,000 peers that cut
 * the agent's CPU to converge from 0.33-0.35 s to 0.27 s (issue 13, netns lab, 3 runs each).
 *
 * Only what can live in a snapshot runs at import: no sockets, timers or native addons (the
 * netlink package loads on first use). node:http, https and tls, which Node 20 cannot put in a
 * user snapshot, and the built-ins it has not verified there load at first use too (bundle.js).
 */
import { startupSnapshot } from 'node:v8';
import { exitWhenSettled } from '../cmd/exit.js';
import { main } from './main.js';
import { warmUp } from './warm-up.js';

/** What a process started from the blob runs: `agent` and the agent's flags. */
export async function runFromSnapshot(argv: string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (role !== 'agent') {
    process.stderr.write(
      `this snapshot runs the agent only: expected "agent" and its flags, got ${JSON.stringify(role ?? '')}\n`,
    );
    return 2;
  }
  return main(rest);
}

// Only while the blob is built: imported anywhere else (tests), this module does nothing.
if (startupSnapshot.isBuildingSnapshot()) {
  // The blob keeps the bytecode of the pass code this compiles (warm-up.ts).
  warmUp();
  // Started from a blob, argv[1] is the first argument after the node flags: there is no script.
  startupSnapshot.setDeserializeMainFunction(() =>
    exitWhenSettled(runFromSnapshot(process.argv.slice(1))),
  );
}
