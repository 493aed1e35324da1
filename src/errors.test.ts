import { ERROR_CODE_PREFIXES, FlannelOperatorError } from './errors.js';
import { IpamError } from './ipam/errors.js';
import { KubeApiError } from './kube/client.js';
import { KubeConfigError } from './kube/auth.js';
import { UnknownResourceError } from './kube/resources.js';
import { LeaderElectionError } from './kube/leader.js';
import { ApiValidationError } from './api/parse.js';
import { StructuralSchemaError } from './api/crd.js';
import { AgentError } from './agent/node-state.js';
import { NetfilterError } from './agent/netfilter/apply.js';
import { ReconcileError } from './controller/controller.js';
import { PoolConfigError } from './controller/pool.js';
import { DataplaneConfigError, DataplaneSpecError } from './controller/dataplane/index.js';
import { CliError } from './cli/output/errors.js';

describe('FlannelOperatorError', () => {
  const samples: FlannelOperatorError[] = [
    new IpamError('EIPAM_INVALID_CIDR', 'x'),
    new KubeApiError('x', 409, 'Conflict'),
    new KubeApiError('x', 0, ''),
    new KubeConfigError('x'),
    new UnknownResourceError('x'),
    new LeaderElectionError('x'),
    new ApiValidationError('FlannelNetwork', 'n', []),
    new StructuralSchemaError('x'),
    new AgentError('x', 'EAGENT_CONFIG'),
    new NetfilterError('x'),
    new ReconcileError('x'),
    new PoolConfigError('x'),
    new DataplaneConfigError('x'),
    new DataplaneSpecError('x'),
    new CliError('x', 'ECLI_BOOM'),
  ];

  it.each(samples.map((e) => [e.name, e]))(
    '%s is one, named after its class, with a registered code',
    (_name, e) => {
      expect(e).toBeInstanceOf(FlannelOperatorError);
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(e.constructor.name);
      const prefix = /^(E[A-Z]+)(_[A-Z0-9_]+)?$/.exec(e.code)?.[1];
      expect(Object.keys(ERROR_CODE_PREFIXES)).toContain(prefix);
    },
  );

  it('passes the cause through', () => {
    const cause = new Error('root');
    expect(new ReconcileError('x', { cause }).cause).toBe(cause);
  });
});
