/**
 * The one base of every error flannel-operator raises on purpose, and the registry of their codes.
 * Each module exports its own subclass with a fixed or computed `code`; callers (scripts, the CLI's
 * exit handling, tests) switch on `code`, never on message text. `cause` is passed through.
 */

/** Code prefixes, one per module that raises errors: a code is `<PREFIX>` or `<PREFIX>_<WHAT>`. */
export const ERROR_CODE_PREFIXES = {
  EAGENT: 'src/agent: desired state, kernel, netfilter, agent start-up',
  EAPI: 'src/api: a CR that fails its schema',
  ECLI: 'src/cmd and src/cli: command-line usage, kubeconfig, CLI internals',
  ECRD: 'src/api: CRD generation',
  EDATAPLANE: 'src/controller/dataplane: agent DaemonSet settings',
  EDOCTOR: 'src/cli/doctor',
  EIPAM: 'src/ipam: CIDRs and subnet allocation',
  EKUBE: 'src/kube: API server answers (EKUBE_<REASON>), transport, kubeconfig',
  ELEADER: 'src/kube/leader: leader election settings',
  EMIGRATE: 'src/cli/migrate',
  EPOOL: 'src/controller/pool: network settings of the planner',
  ERECONCILE: 'src/controller: a reconcile that failed',
} as const;

export type ErrorCodePrefix = keyof typeof ERROR_CODE_PREFIXES;
export type ErrorCode = ErrorCodePrefix | `${ErrorCodePrefix}_${string}`;

export abstract class FlannelOperatorError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
