/**
 * Certificates of the test control plane (openssl, EC P-256: fast to generate, accepted for
 * serving, client and service-account keys) and the kubeconfigs that use them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ControlPlaneError } from './errors.js';

const execFileAsync = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT') {
      throw new ControlPlaneError('openssl not found (Debian package openssl)', 'ECP_NO_OPENSSL');
    }
    throw new ControlPlaneError(
      `openssl ${args[0]} failed: ${err.stderr ?? String(e)}`,
      'ECP_OPENSSL',
    );
  }
}

async function genKey(name: string, dir: string): Promise<void> {
  await openssl(
    ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`],
    dir,
  );
}

async function issueCert(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await genKey(name, dir);
  await openssl(
    ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`],
    dir,
  );
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

export async function makePki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await genKey('ca', dir);
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=flannel-operator-test-ca',
      '-days',
      '2',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  await Promise.all([
    issueCert(
      dir,
      'apiserver',
      '/CN=kube-apiserver',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
          'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
        '',
      ].join('\n'),
    ),
    issueCert(
      dir,
      'admin',
      '/O=system:masters/CN=flannel-operator-test-admin',
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    ),
    (async () => {
      await genKey('sa', dir);
      await openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
    })(),
  ]);
}

export interface Pki {
  ca: string;
  cert: string;
  key: string;
}

/** A kubeconfig (JSON) for the test cluster, with a client certificate or a bearer token. */
export function kubeconfigJson(
  server: string,
  ca: string,
  user: { cert?: string; key?: string; token?: string },
) {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const userEntry: Record<string, string> = {};
  if (user.cert && user.key) {
    userEntry['client-certificate-data'] = b64(user.cert);
    userEntry['client-key-data'] = b64(user.key);
  }
  if (user.token) userEntry.token = user.token;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: 'user', user: userEntry }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'user', namespace: 'default' } }],
    'current-context': 'test',
  };
}
