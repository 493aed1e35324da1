/**
 * Reading upstream flannel's net-conf.json. Go's encoding/json matches keys case-insensitively,
 * so we do too; every problem becomes a MigrationIssue with a stable code.
 */
export interface MigrationIssue {
  code: string;
  message: string;
  /** `kind/name` the issue is about. */
  object?: string;
  /** What to do about it. */
  hint?: string;
}

export interface NetConf {
  network?: string;
  ipv6Network?: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
  ipv6SubnetLen?: number;
  ipv6SubnetMin?: string;
  ipv6SubnetMax?: string;
  backend: {
    type: string;
    vni?: number;
    port?: number;
    mtu?: number;
    gbp?: boolean;
    directRouting?: boolean;
    learning?: boolean;
    /** wireguard (upstream names ListenPort, ListenPortV6, PersistentKeepaliveInterval, PSK, Mode). */
    listenPort?: number;
    listenPortV6?: number;
    keepalive?: number;
    psk?: string;
    mode?: string;
    /** Keys we do not translate (e.g. PSK of ipsec), for the error message. */
    other: string[];
  };
  /** Top-level keys we ignore. */
  ignored: string[];
}

const TOP_KEYS = [
  'Network',
  'IPv6Network',
  'EnableIPv4',
  'EnableIPv6',
  'EnableNFTables',
  'SubnetLen',
  'SubnetMin',
  'SubnetMax',
  'IPv6SubnetLen',
  'IPv6SubnetMin',
  'IPv6SubnetMax',
  'Backend',
] as const;
const BACKEND_KEYS = [
  'Type',
  'VNI',
  'Port',
  'MTU',
  'GBP',
  'DirectRouting',
  'Learning',
  'ListenPort',
  'ListenPortV6',
  'PersistentKeepaliveInterval',
  'PSK',
  'Mode',
] as const;

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/** Where JSON.parse stopped, from its message (Node 20: "... at position N"). */
function jsonErrorPosition(text: string, err: Error): string {
  const m = /at position (\d+)/.exec(err.message);
  if (m) {
    const { line, column } = lineColumn(text, Number(m[1]));
    return ` (line ${line}, column ${column}, offset ${m[1]})`;
  }
  const lc = /line (\d+) column (\d+)/.exec(err.message);
  if (lc) return ` (line ${lc[1]}, column ${lc[2]})`;
  if (/end of JSON input/i.test(err.message)) {
    const { line, column } = lineColumn(text, text.length);
    return ` (line ${line}, column ${column}: the text ends too early)`;
  }
  return '';
}

function pick(obj: Record<string, unknown>, canonical: readonly string[]): Map<string, unknown> {
  const lower = new Map(canonical.map((k) => [k.toLowerCase(), k]));
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    const c = lower.get(k.toLowerCase());
    out.set(c ?? `?${k}`, v);
  }
  return out;
}

export function parseNetConf(
  text: string,
  source: string,
): { conf?: NetConf; errors: MigrationIssue[]; warnings: MigrationIssue[] } {
  const errors: MigrationIssue[] = [];
  const warnings: MigrationIssue[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    errors.push({
      code: 'EMIGRATE_NETCONF_JSON',
      object: source,
      message: `net-conf.json in ${source} is not valid JSON: ${(e as Error).message}${jsonErrorPosition(text, e as Error)}`,
      hint: 'fix the ConfigMap; upstream flannel would not start with it either',
    });
    return { errors, warnings };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push({
      code: 'EMIGRATE_NETCONF_INVALID',
      object: source,
      message: `net-conf.json in ${source} must be a JSON object`,
    });
    return { errors, warnings };
  }
  const top = pick(raw as Record<string, unknown>, TOP_KEYS);
  const bad = (key: string, want: string): void => {
    errors.push({
      code: 'EMIGRATE_NETCONF_INVALID',
      object: source,
      message: `net-conf.json: ${key} must be ${want}, got ${JSON.stringify(top.get(key) ?? null)}`,
    });
  };
  const str = (key: string): string | undefined => {
    const v = top.get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return (bad(key, 'a string'), undefined);
    return v;
  };
  const int = (key: string, from: Map<string, unknown> = top): number | undefined => {
    const v = from.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      errors.push({
        code: 'EMIGRATE_NETCONF_INVALID',
        object: source,
        message: `net-conf.json: ${from === top ? '' : 'Backend.'}${key} must be a non-negative integer, got ${JSON.stringify(v)}`,
      });
      return undefined;
    }
    return v;
  };
  const bool = (key: string, def: boolean, from: Map<string, unknown> = top): boolean => {
    const v = from.get(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      errors.push({
        code: 'EMIGRATE_NETCONF_INVALID',
        object: source,
        message: `net-conf.json: ${from === top ? '' : 'Backend.'}${key} must be true or false, got ${JSON.stringify(v)}`,
      });
      return def;
    }
    return v;
  };

  const ignored: string[] = [];
  for (const k of top.keys()) if (k.startsWith('?')) ignored.push(k.slice(1));
  // EnableNFTables=false is what the stock manifest ships; only a true value is worth a warning.
  if (top.get('EnableNFTables') === true) ignored.push('EnableNFTables');

  const backendRaw = top.get('Backend');
  let backendMap = new Map<string, unknown>();
  if (backendRaw === undefined || backendRaw === null) {
    // Upstream requires a backend; the default install ships vxlan.
    errors.push({
      code: 'EMIGRATE_NETCONF_INVALID',
      object: source,
      message: 'net-conf.json has no Backend',
      hint: 'add "Backend": {"Type": "vxlan"} (what flannel was running with)',
    });
  } else if (typeof backendRaw !== 'object' || Array.isArray(backendRaw)) {
    bad('Backend', 'an object');
  } else {
    backendMap = pick(backendRaw as Record<string, unknown>, BACKEND_KEYS);
  }
  const typeRaw = backendMap.get('Type');
  let type = 'vxlan';
  if (backendRaw && typeof backendRaw === 'object') {
    if (typeof typeRaw !== 'string' || typeRaw === '') {
      errors.push({
        code: 'EMIGRATE_NETCONF_INVALID',
        object: source,
        message: `net-conf.json: Backend.Type must be a string, got ${JSON.stringify(typeRaw ?? null)}`,
      });
    } else type = typeRaw.toLowerCase();
  }
  const conf: NetConf = {
    network: str('Network'),
    ipv6Network: str('IPv6Network'),
    enableIPv4: bool('EnableIPv4', true),
    enableIPv6: bool('EnableIPv6', false),
    subnetLen: int('SubnetLen'),
    subnetMin: str('SubnetMin'),
    subnetMax: str('SubnetMax'),
    ipv6SubnetLen: int('IPv6SubnetLen'),
    ipv6SubnetMin: str('IPv6SubnetMin'),
    ipv6SubnetMax: str('IPv6SubnetMax'),
    backend: {
      type,
      vni: int('VNI', backendMap),
      port: int('Port', backendMap),
      mtu: int('MTU', backendMap),
      gbp: bool('GBP', false, backendMap),
      directRouting: bool('DirectRouting', false, backendMap),
      learning: bool('Learning', false, backendMap),
      listenPort: int('ListenPort', backendMap),
      listenPortV6: int('ListenPortV6', backendMap),
      keepalive: int('PersistentKeepaliveInterval', backendMap),
      psk:
        typeof backendMap.get('PSK') === 'string' ? (backendMap.get('PSK') as string) : undefined,
      mode:
        typeof backendMap.get('Mode') === 'string' ? (backendMap.get('Mode') as string) : undefined,
      other: [...backendMap.keys()].filter((k) => k.startsWith('?')).map((k) => k.slice(1)),
    },
    ignored,
  };
  return { conf: errors.length ? undefined : conf, errors, warnings };
}
