// Pure checks of the deployment files (docker/compose.yml, .env.example, Dockerfile,
// nginx.conf): each takes text or parsed YAML and returns the problems it finds, by name.
// compose.test.ts runs them on the real files and on broken ones, so each can fail.

type Env = Record<string, unknown> | unknown[] | undefined;
interface Service {
  environment?: Env;
  ports?: unknown[];
}
export interface ComposeFile {
  services: Record<string, Service>;
}

/** Names that hold a secret: passwords, secrets, tokens, keys (not *_TOKEN_TTL_SECONDS). */
export const SECRET_NAME = /(PASSWORD|SECRET|(^|_)TOKEN$|(^|_)KEY$)/;
/** `${VAR:?message}`: compose refuses to start while VAR is unset or empty. */
const REQUIRED_REF = /^\$\{([A-Z0-9_]+):\?[^}]*\}$/;
const REF = /\$\{([A-Za-z0-9_]+)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}/g;

function entries(env: Env): [string, string][] {
  if (!env) return [];
  if (Array.isArray(env)) {
    return env.map((e) => {
      const s = String(e);
      const i = s.indexOf('=');
      return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
    });
  }
  return Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]);
}

/** Every secret-like variable is a required reference, and no URL carries a literal password. */
export function secretProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(compose.services ?? {})) {
    for (const [key, value] of entries(svc.environment)) {
      if (SECRET_NAME.test(key) && !REQUIRED_REF.test(value)) {
        problems.push(`${name}: ${key} must be \${${key}:?...} (from .env), not ${value === '' ? 'empty' : 'a literal'}`);
      }
      const creds = /:\/\/[^:/@\s]+:([^@\s]*)@/.exec(value);
      if (creds && !REQUIRED_REF.test(creds[1]!)) problems.push(`${name}: ${key} has a literal password in its URL`);
    }
  }
  return problems;
}

/** Default value of `${VAR:-default}` (or the text itself when it is no reference). */
function defaultOf(text: string): string {
  return text.replace(REF, (_m, _v: string, op: string | undefined, rest: string | undefined) => (op === ':-' || op === '-' ? rest ?? '' : ''));
}

/** The host address a published port binds to, at its default; '' when it binds every interface. */
export function hostAddress(port: unknown): string {
  if (port && typeof port === 'object') return defaultOf(String((port as { host_ip?: unknown }).host_ip ?? ''));
  const parts = defaultOf(String(port)).split(':');
  return parts.length === 3 ? parts[0]! : '';
}

/**
 * Published ports bind to 127.0.0.1 unless told otherwise; the database's only ever to
 * 127.0.0.1, written out (no variable can open it).
 */
export function portProblems(compose: ComposeFile, databases: string[] = ['postgres']): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(compose.services ?? {})) {
    for (const port of svc.ports ?? []) {
      const address = hostAddress(port);
      if (address !== '127.0.0.1') problems.push(`${name}: port ${JSON.stringify(port)} is published on ${address || 'every interface'} by default, not 127.0.0.1`);
      else if (databases.includes(name) && !(typeof port === 'string' ? port : String((port as { host_ip?: unknown }).host_ip)).startsWith('127.0.0.1')) {
        problems.push(`${name}: the database is published on a configurable address; write 127.0.0.1`);
      }
    }
  }
  return problems;
}

/** Variables a compose file refers to, and which of them it requires. */
export function composeVariables(text: string): { all: Set<string>; required: Set<string> } {
  const all = new Set<string>();
  const required = new Set<string>();
  const uncommented = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  for (const m of uncommented.matchAll(REF)) {
    all.add(m[1]!);
    if (m[2] === ':?' || m[2] === '?') required.add(m[1]!);
  }
  return { all, required };
}

/** `NAME=value` lines of a dotenv file; `# NAME=value` ones count as documented, not set. */
export function dotenv(text: string): { set: Map<string, string>; documented: Set<string> } {
  const set = new Map<string, string>();
  const documented = new Set<string>();
  for (const line of text.split('\n')) {
    const on = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (on) {
      set.set(on[1]!, on[2]!.trim());
      documented.add(on[1]!);
      continue;
    }
    const off = /^\s*#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (off) documented.add(off[1]!);
  }
  return { set, documented };
}

/**
 * .env.example names every variable the compose file reads; the required ones are lines
 * of their own, and a secret there is empty (a copy is never a known password).
 */
export function envExampleProblems(composeText: string, envExample: string): string[] {
  const problems: string[] = [];
  const { all, required } = composeVariables(composeText);
  const { set, documented } = dotenv(envExample);
  for (const v of all) if (!documented.has(v)) problems.push(`.env.example does not mention ${v}`);
  for (const v of required) if (!set.has(v)) problems.push(`.env.example has no ${v}= line (compose requires it)`);
  for (const [k, v] of set) if (SECRET_NAME.test(k) && v !== '') problems.push(`.env.example gives ${k} a value: leave it empty, with how to make one`);
  return problems;
}

interface Stage {
  from: string;
  name: string | null;
  lines: string[];
}

/** Dockerfile instructions (continuations joined, comments dropped), split by stage. */
export function dockerStages(text: string): Stage[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2] ?? null, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

/**
 * Builds in one stage and runs in another: the runtime stage installs production
 * dependencies only, brings no whole node_modules or source tree from the build, runs as
 * a user that is not root, and checks /healthz.
 */
export function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const stages = dockerStages(text);
  if (stages.length < 2) return [`${stages.length} stage(s): build in one stage, run in another`];
  const build = stages[0]!;
  const runtime = stages.at(-1)!;
  if (!build.name) problems.push('the first stage has no name (FROM ... AS build)');
  const has = (re: RegExp) => runtime.lines.some((l) => re.test(l));
  const prodInstall = has(/^RUN\b.*\bnpm (ci|install)\b.*--omit=dev/) || has(/^RUN\b.*\bnpm prune\b.*--omit=dev/);
  if (!prodInstall) problems.push('the runtime stage does not install production dependencies only (npm ci --omit=dev)');
  if (has(/--include=dev|--production=false/)) problems.push('the runtime stage includes development dependencies');
  if (has(/^COPY\s+--from=\S+\s+\S*node_modules\/?\s/)) problems.push('the runtime stage copies the build stage\'s whole node_modules');
  if (has(/^COPY\s+(--from=\S+\s+)?(\.|\/app\/?)\s/)) problems.push('the runtime stage copies everything; copy only what runs');
  const users = runtime.lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]!.split(':')[0]!);
  const user = users.at(-1);
  if (!user) problems.push('the runtime stage has no USER: it would run as root');
  else if (user === 'root' || user === '0') problems.push(`the runtime stage runs as ${user}`);
  if (!has(/^HEALTHCHECK\b.*\/healthz/)) problems.push('the runtime stage has no HEALTHCHECK on /healthz');
  return problems;
}

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * The runtime stage copies `pkg` from the build stage: every package it needs at run
 * time that `npm ci --omit=dev` leaves out (development ones), following package-lock.json,
 * is copied too (itself or its scope folder). Optional packages for other systems don't count.
 */
export function copiedClosureProblems(dockerfile: string, lock: { packages: Record<string, LockEntry> }, pkg: string, os = 'linux'): string[] {
  const runtime = dockerStages(dockerfile).at(-1)?.lines ?? [];
  const copied = runtime.flatMap((l) => {
    const m = /^COPY\s+--from=\S+\s+\S*?node_modules\/(\S+?)\/?\s/.exec(l);
    return m ? [m[1]!] : [];
  });
  // A key of the lock (node_modules/a/node_modules/b) is copied when a COPY names the
  // top folder it lives in (a, or a's whole @scope).
  const covered = (key: string) => {
    const top = key.split('/').slice(1, key.startsWith('node_modules/@') ? 3 : 2).join('/');
    return copied.some((c) => c === top || (c.startsWith('@') && !c.includes('/') && top.startsWith(`${c}/`)));
  };
  // Node's lookup: the nearest node_modules folder up from the package that asks.
  const resolve = (from: string, name: string): string | null => {
    let base = from;
    for (;;) {
      const key = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!base) return null;
      const at = base.lastIndexOf('/node_modules/');
      base = at < 0 ? '' : base.slice(0, at);
    }
  };
  const problems: string[] = [];
  const seen = new Set<string>();
  const visit = (from: string, name: string, required: boolean) => {
    const key = resolve(from, name);
    if (!key) {
      if (required) problems.push(`${name} is not in package-lock.json`);
      return;
    }
    if (seen.has(key)) return;
    seen.add(key);
    const entry = lock.packages[key]!;
    if (entry.os && !entry.os.includes(os)) return;
    if (entry.dev && !covered(key)) problems.push(`the runtime stage needs ${name} (a development package) but does not copy it`);
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(key, dep, true);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(key, dep, false);
  };
  visit('', pkg, true);
  return problems;
}

export interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

/** A small nginx.conf reader: directives, their arguments and blocks (quotes and comments honoured). */
export function parseNginx(text: string): NginxDirective[] {
  const tokens: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
  for (const m of text.matchAll(re)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  }
  let i = 0;
  const block = (): NginxDirective[] => {
    const out: NginxDirective[] = [];
    while (i < tokens.length) {
      if (tokens[i] === '}') {
        i++;
        return out;
      }
      const d: NginxDirective = { name: tokens[i++]!, args: [] };
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{') d.args.push(tokens[i++]!);
      if (tokens[i] === '{') {
        i++;
        d.block = block();
      } else i++;
      out.push(d);
    }
    return out;
  };
  return block();
}

const find = (ds: NginxDirective[] | undefined, name: string) => (ds ?? []).filter((d) => d.name === name);

/** The location nginx picks for a (decoded) path: exact, then ^~ or regex, then longest prefix. */
export function locationFor(server: NginxDirective, path: string): NginxDirective | null {
  const locations = find(server.block, 'location');
  const exact = locations.find((l) => l.args[0] === '=' && l.args[1] === path);
  if (exact) return exact;
  const prefixes = locations
    .filter((l) => l.args.length === 1 || l.args[0] === '^~')
    .map((l) => ({ l, prefix: l.args.at(-1)!, stop: l.args[0] === '^~' }))
    .filter((p) => path.startsWith(p.prefix))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  if (prefixes[0]?.stop) return prefixes[0].l;
  for (const l of locations) {
    if (l.args[0] === '~' && new RegExp(l.args[1]!).test(path)) return l;
    if (l.args[0] === '~*' && new RegExp(l.args[1]!, 'i').test(path)) return l;
  }
  return prefixes[0]?.l ?? null;
}

/** A location that answers by itself (return 4xx, or deny all) instead of proxying. */
function refuses(location: NginxDirective | null): boolean {
  if (!location) return true;
  const ret = find(location.block, 'return')[0];
  if (ret && /^4\d\d$/.test(ret.args[0]!)) return true;
  return find(location.block, 'deny').some((d) => d.args[0] === 'all') && !find(location.block, 'allow').length;
}

const proxied = (location: NginxDirective | null) => find(location?.block, 'proxy_pass').length > 0;

/** A directive of a location, else of its server, else of http (nginx's inheritance). */
function inherited(name: string, ...levels: (NginxDirective[] | undefined)[]): NginxDirective[] {
  for (const level of levels) {
    const here = find(level, name);
    if (here.length) return here;
  }
  return [];
}

/**
 * The proxy strips X-Actor, keeps /metrics and /status internal, limits requests and
 * connections per client (more strictly on sign-in), caps bodies and slow clients, hides
 * its version, passes X-Forwarded-For/Proto, and upgrades WebSockets on /ws.
 */
export function nginxProblems(text: string): string[] {
  const problems: string[] = [];
  const http = find(parseNginx(text), 'http')[0];
  if (!http) return ['no http block'];
  const servers = find(http.block, 'server');
  if (!servers.length) return ['no server block'];
  const zones = find(http.block, 'limit_req_zone').map((z) => /zone=([^:]+)/.exec(z.args.join(' '))?.[1]);
  if (!zones.length) problems.push('no limit_req_zone');
  if (!find(http.block, 'limit_conn_zone').length) problems.push('no limit_conn_zone');
  if (find(http.block, 'server_tokens')[0]?.args[0] !== 'off') problems.push('server_tokens is not off');
  for (const [name, want] of [
    ['client_max_body_size', /^\d+[kKmM]?$/],
    ['client_body_timeout', /^\d+s?$/],
    ['client_header_timeout', /^\d+s?$/],
    ['send_timeout', /^\d+s?$/],
  ] as const) {
    const d = find(http.block, name)[0];
    if (!d || !want.test(d.args[0]!)) problems.push(`no ${name} in the http block`);
  }
  const body = find(http.block, 'client_max_body_size')[0]?.args[0];
  if (body && !/^256[kK]$/.test(body) && body !== '262144') problems.push(`client_max_body_size is ${body}, not 256k (the API's body limit)`);
  for (const server of servers) {
    const listen = server.args.join(' ') || find(server.block, 'listen').map((l) => l.args.join(' ')).join(', ');
    const where = `server (${listen})`;
    if (find(server.block, 'return').some((r) => /^30[12178]$/.test(r.args[0]!))) continue; // a redirect-only server
    for (const path of ['/metrics', '/status', '/metrics/', '/status/x', '/METRICS']) {
      const loc = locationFor(server, path);
      if (!refuses(loc)) problems.push(`${where}: ${path} is served to the public (return 404, or deny all)`);
    }
    const root = locationFor(server, '/api/projects');
    const signIn = locationFor(server, '/api/auth/sign-in');
    const ws = locationFor(server, '/ws/');
    for (const [path, loc] of [['/api/projects', root], ['/api/auth/sign-in', signIn], ['/ws/', ws]] as const) {
      if (!proxied(loc)) {
        problems.push(`${where}: ${path} is not proxied`);
        continue;
      }
      const headers = inherited('proxy_set_header', loc?.block, server.block, http.block);
      const header = (h: string) => headers.find((d) => d.args[0]!.toLowerCase() === h.toLowerCase());
      const actor = header('X-Actor');
      if (!actor || actor.args[1] !== '') problems.push(`${where}: ${path} does not strip X-Actor (proxy_set_header X-Actor "")`);
      if (!header('X-Forwarded-For')) problems.push(`${where}: ${path} does not set X-Forwarded-For`);
      if (header('X-Forwarded-Proto')?.args[1] !== '$scheme') problems.push(`${where}: ${path} does not set X-Forwarded-Proto $scheme`);
      if (!inherited('limit_req', loc?.block, server.block, http.block).length) problems.push(`${where}: ${path} has no limit_req`);
      if (!inherited('limit_conn', loc?.block, server.block, http.block).length) problems.push(`${where}: ${path} has no limit_conn`);
      if (path === '/ws/') {
        if (header('Upgrade')?.args[1] !== '$http_upgrade' || !header('Connection')) problems.push(`${where}: /ws does not pass the WebSocket upgrade`);
        if (inherited('proxy_http_version', loc?.block, server.block, http.block)[0]?.args[0] !== '1.1') problems.push(`${where}: /ws needs proxy_http_version 1.1`);
      }
    }
    const general = new Set(inherited('limit_req', root?.block, server.block, http.block).map((d) => /zone=(\S+)/.exec(d.args.join(' '))?.[1]));
    const signInZones = inherited('limit_req', signIn?.block, server.block, http.block).map((d) => /zone=(\S+)/.exec(d.args.join(' '))?.[1]);
    if (!signInZones.some((z) => z && !general.has(z))) problems.push(`${where}: /api/auth/sign-in has no stricter limit_req zone of its own`);
  }
  return problems;
}
