#!/usr/bin/env node
/**
 * One binary, several roles: `controller`, `agent`, `crds`, and the kubectl-flannel
 * subcommands (`status`, `doctor`, `migrate`). Each role's module is loaded only when used.
 */
import { exitWhenSettled } from '../cmd/exit.js';

const USAGE = `Usage: flannel-operator <command> [flags]

Commands:
  controller   run the controller (leader-elected)
  agent        run the per-node dataplane agent
  crds         print or write the CustomResourceDefinitions
  status       show networks, capacity, leases and nodes
  doctor       compare the desired dataplane of a node with the kernel
  migrate      take over an upstream flannel installation
  version      print the version

Run 'flannel-operator <command> --help' for the flags of a command.
`;

type CommandMain = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<CommandMain>> = {
  controller: async () => (await import('../controller/main.js')).main,
  agent: async () => (await import('../agent/main.js')).main,
  crds: async () => (await import('../api/crds-command.js')).main,
  status: async () => (await import('./status.js')).main,
  doctor: async () => (await import('./doctor.js')).main,
  migrate: async () => (await import('./migrate.js')).main,
  version: async () => (await import('./version.js')).main,
};

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const main = await load();
  return main(rest);
}

exitWhenSettled(run(process.argv.slice(2)));
