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

/** Names that hold a secret: passwords, secrets, tokens, keys, REDISCLI_AUTH (not *_TOKEN_TTL_SECONDS). */
export const SECRET_NAME = /(PASSWORD|SECRET|(^|_)TOKEN$|(^|_)KEY$|(^|_)AUTH$)/;
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

/** The servers (host names) of each upstream block. */
export function nginxUpstreams(text: string): Record<string, string[]> {
  const http = find(parseNginx(text), 'http')[0];
  return Object.fromEntries(find(http?.block, 'upstream').map((u) => [u.args[0]!, find(u.block, 'server').map((s) => s.args[0]!.split(':')[0]!)]));
}

/** The upstream a location proxies to (`proxy_pass http://name`), or null. */
function upstreamOf(location: NginxDirective | null): string | null {
  const target = find(location?.block, 'proxy_pass')[0]?.args[0];
  return target ? (/^https?:\/\/([^/:]+)/.exec(target)?.[1] ?? null) : null;
}

/** Compose services that run a main (`services/gateway/src/main.ts`), by name. */
export function servicesRunning(compose: ComposeFile, main: string): string[] {
  return Object.entries(compose.services ?? {})
    .filter(([, svc]) => ((svc as { command?: unknown }).command as unknown[] | undefined)?.includes(main))
    .map(([name]) => name)
    .sort();
}

/**
 * nginx sends /ws to an upstream that lists exactly the services running the gateway's
 * main, and the rest to one that lists exactly those running the API's: a service added
 * to one file and not the other is named.
 */
export function upstreamProblems(nginx: string, compose: ComposeFile, mains = { ws: 'services/gateway/src/main.ts', api: 'services/api/src/main.ts' }): string[] {
  const http = find(parseNginx(nginx), 'http')[0];
  const server = find(http?.block, 'server')[0];
  if (!server) return ['no server block'];
  const upstreams = nginxUpstreams(nginx);
  const problems: string[] = [];
  for (const [path, main] of [['/ws/', mains.ws], ['/api/projects', mains.api]] as const) {
    const name = upstreamOf(locationFor(server, path));
    const listed = name ? upstreams[name] : undefined;
    if (!listed) {
      problems.push(`${path} is not proxied to an upstream block`);
      continue;
    }
    const running = servicesRunning(compose, main);
    for (const s of running) if (!listed.includes(s)) problems.push(`upstream ${name} does not list ${s} (compose runs ${main} there): add \`server ${s}:3000;\``);
    for (const s of listed) if (!running.includes(s)) problems.push(`upstream ${name} lists ${s}, which compose does not run ${main} in`);
  }
  return problems;
}

/** What a request looks like to nginx, for the variables the gateway's hash reads. */
export interface ProxiedRequest {
  args: Record<string, string>;
  remoteAddr: string;
  requestId: string;
}

/** A value with nginx variables ($arg_x, $remote_addr, $request_id, a map's) filled in for a request. */
export function nginxValue(text: string, value: string, req: ProxiedRequest): string {
  const http = find(parseNginx(text), 'http')[0];
  const maps = new Map(find(http?.block, 'map').map((m) => [m.args[1]!.replace(/^\$/, ''), m] as const));
  const expand = (v: string, depth: number): string =>
    v.replace(/\$\{?([a-z_][a-z0-9_]*)\}?/gi, (_m, name: string) => {
      if (name.startsWith('arg_')) return req.args[name.slice(4)] ?? '';
      if (name === 'remote_addr' || name === 'binary_remote_addr') return req.remoteAddr;
      if (name === 'request_id') return req.requestId;
      const map = maps.get(name);
      if (!map || depth > 8) throw new Error(`nginxValue: no value for $${name}`);
      const source = expand(map.args[0]!, depth + 1);
      const entries = (map.block ?? []).map((e) => [e.name, e.args[0] ?? ''] as const);
      const hit =
        entries.find(([k]) => k === source) ??
        entries.find(([k]) => k.startsWith('~') && new RegExp(k.replace(/^~\*?/, ''), k.startsWith('~*') ? 'i' : '').test(source)) ??
        entries.find(([k]) => k === 'default');
      return hit ? expand(hit[1], depth + 1) : '';
    });
  return expand(value, 0);
}

/** Engine.IO's requests of one session that starts by polling: the handshake, a poll, the upgrade. */
const pollingSession = (remoteAddr: string): ProxiedRequest[] => [
  { args: { EIO: '4', transport: 'polling' }, remoteAddr, requestId: 'r1' },
  { args: { EIO: '4', transport: 'polling', sid: 'S1' }, remoteAddr, requestId: 'r2' },
  { args: { EIO: '4', transport: 'polling', sid: 'S1' }, remoteAddr, requestId: 'r3' },
  { args: { EIO: '4', transport: 'websocket', sid: 'S1' }, remoteAddr, requestId: 'r4' },
];

/**
 * The upstream /ws goes to is sticky for long-polling: it hashes (or ip_hash-es) on a key
 * that is the same for every request of a session that polls, its first included, so all
 * of them reach the gateway that holds the session.
 */
export function stickyProblems(text: string): string[] {
  const http = find(parseNginx(text), 'http')[0];
  const server = find(http?.block, 'server')[0];
  if (!server) return ['no server block'];
  const name = upstreamOf(locationFor(server, '/ws/'));
  const upstream = find(http?.block, 'upstream').find((u) => u.args[0] === name);
  if (!upstream) return ['/ws is not proxied to an upstream block'];
  if (find(upstream.block, 'ip_hash').length) return [];
  const hash = find(upstream.block, 'hash')[0];
  if (!hash) return [`upstream ${name} is not sticky: a long-polling session's requests would be spread over the gateways (hash on the client's address, or ip_hash)`];
  const keys = pollingSession('198.51.100.7').map((r) => nginxValue(text, hash.args[0]!, r));
  if (new Set(keys).size > 1) return [`upstream ${name} hashes a long-polling session's requests to different keys (${keys.map((k) => JSON.stringify(k)).join(', ')}): they would reach different gateways`];
  return [];
}

/** Services reachable from the compose network only: no port published on the host. */
export function publishedProblems(compose: ComposeFile, internal: string[]): string[] {
  return internal.filter((name) => (compose.services[name]?.ports ?? []).length > 0).map((name) => `${name} publishes a port on the host: only the compose network may reach it`);
}

/** The workspace packages' folders and names, from the root package.json's globs. */
export interface Workspace {
  dir: string;
  name: string;
  dependencies: string[];
}

/**
 * Both stages copy every workspace's package.json before `npm ci` (else the lock and the
 * tree disagree and a workspace's dependencies are missing), and the runtime stage copies
 * the source of every workspace the mains it runs need, following their dependencies.
 */
export function workspaceCopyProblems(dockerfile: string, workspaces: Workspace[], mainDirs: string[]): string[] {
  const stages = dockerStages(dockerfile);
  const problems: string[] = [];
  const copies = (stage: Stage | undefined, source: string) => (stage?.lines ?? []).some((l) => new RegExp(`^COPY\\s+(--from=\\S+\\s+)?(/app/)?${source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s`).test(l));
  for (const w of workspaces) {
    for (const [label, stage] of [['build', stages[0]], ['runtime', stages.at(-1)]] as const) {
      if (!copies(stage, `${w.dir}/package.json`)) problems.push(`the ${label} stage does not copy ${w.dir}/package.json before npm ci`);
    }
  }
  const byName = new Map(workspaces.map((w) => [w.name, w]));
  const needed = new Set<string>();
  const visit = (w: Workspace | undefined) => {
    if (!w || needed.has(w.dir)) return;
    needed.add(w.dir);
    for (const d of w.dependencies) visit(byName.get(d));
  };
  for (const dir of mainDirs) visit(workspaces.find((w) => w.dir === dir));
  for (const dir of needed) if (!copies(stages.at(-1), `${dir}/src`)) problems.push(`the runtime stage does not copy ${dir}/src, which a main it runs imports`);
  return problems;
}
