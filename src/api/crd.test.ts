import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import YAML from 'yaml';
import {
  crds,
  flannelNetworkCrd,
  subnetLeaseCrd,
  StructuralSchemaError,
  toStructural,
  type JsonSchema,
} from './crd.js';
import { crdFileName, HEADER, renderAll, toYaml, writeCrds } from './crds-command.js';

const FORBIDDEN = [
  '$ref',
  '$defs',
  '$schema',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'propertyNames',
  'const',
];

/** Visits every schema node with its path. */
function walk(node: JsonSchema, path: string, visit: (n: JsonSchema, p: string) => void): void {
  visit(node, path);
  for (const [name, sub] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
    walk(sub, `${path}.${name}`, visit);
  }
  if (node.items) walk(node.items as JsonSchema, `${path}[]`, visit);
  if (typeof node.additionalProperties === 'object')
    walk(node.additionalProperties as JsonSchema, `${path}.*`, visit);
}

const schemaOf = (c: ReturnType<typeof crds>[number]) => c.spec.versions[0]!.schema.openAPIV3Schema;

describe('generated CRDs', () => {
  it.each(crds().map((c) => [c.metadata.name, c] as const))('%s is structural', (_n, c) => {
    walk(schemaOf(c), '$', (n, p) => {
      expect({ p, type: typeof n.type }).toEqual({ p, type: 'string' });
      for (const k of FORBIDDEN) expect({ p, k, has: k in n }).toEqual({ p, k, has: false });
      if (n.additionalProperties !== undefined)
        expect(typeof n.additionalProperties).toBe('object');
      if (n.type === 'integer') expect(['int32', 'int64']).toContain(n.format);
      if (n.type === 'string' && n['x-kubernetes-validations'] && !n.enum) {
        // CEL cost: every string a rule reads has a bound.
        expect({ p, maxLength: typeof n.maxLength }).toEqual({ p, maxLength: 'number' });
      }
      if (n.type === 'array' && JSON.stringify(n.items).includes('x-kubernetes-validations')) {
        expect(typeof n.maxItems).toBe('number');
      }
      for (const v of (n['x-kubernetes-validations'] ?? []) as Array<Record<string, unknown>>) {
        expect(typeof v.rule).toBe('string');
        expect((v.message as string).length).toBeGreaterThan(10);
        if (v.fieldPath !== undefined) expect(v.fieldPath).toMatch(/^\.[a-zA-Z]/);
      }
    });
  });

  it('keeps the schema defaults', () => {
    const spec = (schemaOf(flannelNetworkCrd()).properties as Record<string, JsonSchema>).spec!;
    const props = spec.properties as Record<string, JsonSchema>;
    const backend = props.backend!;
    expect(backend.default).toEqual({});
    const bp = backend.properties as Record<string, JsonSchema>;
    expect(bp.type!.default).toBe('vxlan');
    expect(bp.type!.enum).toEqual(['vxlan', 'host-gw', 'wireguard']);
    expect(bp.vni).toMatchObject({
      default: 1,
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: 16777215,
    });
    expect(bp.port!.default).toBe(8472);
    expect(bp.directRouting!.default).toBe(false);
    expect(props.ipMasq!.default).toBe(true);
    expect(props.netpol!.default).toEqual({});
    expect(spec.required).toBeUndefined();
    expect(props.nodeSelector!['x-kubernetes-map-type']).toBe('atomic');
    expect(props.reservedSubnets!['x-kubernetes-list-type']).toBe('set');
  });

  it('makes conditions a list map keyed by type', () => {
    for (const c of crds()) {
      const status = (schemaOf(c).properties as Record<string, JsonSchema>).status!;
      const conditions = (status.properties as Record<string, JsonSchema>).conditions!;
      expect(conditions['x-kubernetes-list-type']).toBe('map');
      expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
      expect((conditions.items as JsonSchema).required).toEqual(
        expect.arrayContaining(['type', 'status', 'lastTransitionTime', 'reason', 'message']),
      );
    }
  });

  it('declares names, scope, columns and subresources', () => {
    const f = flannelNetworkCrd();
    expect(f.metadata.name).toBe('flannelnetworks.network.flannel-operator.io');
    expect(f.spec.scope).toBe('Cluster');
    expect(f.spec.names).toMatchObject({
      kind: 'FlannelNetwork',
      shortNames: ['fnet'],
      categories: ['flannel'],
    });
    const v = f.spec.versions[0]!;
    expect(v).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    expect(v.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      'Network',
      'Backend',
      'VNI',
      'Allocated',
      'Free',
      'Ready',
      'Age',
    ]);
    const l = subnetLeaseCrd();
    expect(l.spec.scope).toBe('Cluster');
    expect(l.spec.names).toMatchObject({
      kind: 'SubnetLease',
      shortNames: ['slease'],
      categories: ['flannel'],
    });
    const lv = l.spec.versions[0]!;
    expect(lv.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      'Node',
      'Network',
      'Subnet',
      'Public IP',
      'Backend',
      'Age',
    ]);
    expect(lv.selectableFields).toEqual([
      { jsonPath: '.spec.nodeName' },
      { jsonPath: '.spec.networkName' },
    ]);
    expect((schemaOf(l).properties as Record<string, JsonSchema>).spec!.required).toEqual([
      'nodeName',
      'networkName',
    ]);
  });

  it('marks the update-only rules as transition rules', () => {
    const text = JSON.stringify(flannelNetworkCrd());
    expect(text).toContain('cidr(self.network).containsCIDR(oldSelf.network)');
    expect(JSON.stringify(subnetLeaseCrd())).toContain('self == oldSelf');
  });
});

describe('toStructural', () => {
  it('rewrites records, integers and exclusive bounds', () => {
    const s = toStructural(
      z.toJSONSchema(
        z.object({
          m: z.record(z.string(), z.number().int()),
          n: z.number().int().gt(0),
          big: z.number().int(),
        }),
      ) as JsonSchema,
    );
    const p = s.properties as Record<string, JsonSchema>;
    expect(p.m).toEqual({
      type: 'object',
      additionalProperties: { type: 'integer', format: 'int64' },
    });
    expect(p.n).toMatchObject({ type: 'integer', minimum: 0, exclusiveMinimum: true });
    expect(p.big).toEqual({ type: 'integer', format: 'int64' });
    expect(s.additionalProperties).toBeUndefined();
  });

  it('refuses what a structural schema cannot express', () => {
    expect(() =>
      toStructural(z.toJSONSchema(z.union([z.string(), z.number()])) as JsonSchema),
    ).toThrow(StructuralSchemaError);
    expect(() =>
      toStructural({ type: 'object', properties: { x: { $ref: '#/$defs/x' } } }),
    ).toThrow(/\$ref/);
    expect(() => toStructural({ properties: {} })).toThrow(/needs a type/);
  });
});

describe('crds command', () => {
  it('prints all CRDs as one multi-document YAML', () => {
    const text = renderAll();
    expect(text.startsWith(HEADER)).toBe(true);
    const docs = YAML.parseAllDocuments(text).map((d) => d.toJS());
    expect(docs.map((d) => d.metadata.name)).toEqual([
      'flannelnetworks.network.flannel-operator.io',
      'subnetleases.network.flannel-operator.io',
    ]);
  });

  it('writes one file per CRD and removes stale ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crds-'));
    try {
      await writeFile(join(dir, 'network.flannel-operator.io_gone.yaml'), 'x');
      await writeFile(join(dir, 'other.yaml'), 'x');
      await writeCrds(dir);
      expect((await readdir(dir)).sort()).toEqual([
        'network.flannel-operator.io_flannelnetworks.yaml',
        'network.flannel-operator.io_subnetleases.yaml',
        'other.yaml',
      ]);
      const text = await readFile(
        join(dir, 'network.flannel-operator.io_subnetleases.yaml'),
        'utf8',
      );
      expect(text.startsWith('# generated by make crds; do not edit\n')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('crds/ is up to date (run make crds)', async () => {
    for (const c of crds()) {
      const committed = await readFile(join('crds', crdFileName(c)), 'utf8');
      expect(committed).toBe(HEADER + toYaml(c));
    }
  });
});
