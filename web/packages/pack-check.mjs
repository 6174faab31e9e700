#!/usr/bin/env node
// The packages as an outside app gets them: @realtime/protocol, @realtime/client and
// @realtime/react packed into tarballs (built JavaScript and declarations, no sources or
// tests), installed into a fresh Vite + React + TypeScript app outside the repo together
// with the versions of react, TanStack Query, TypeScript and Vite the repo's lock file
// holds, then `tsc --noEmit` and `vite build` there. Run by CI after `npm test`
// (`npm run pack-check`); KEEP=1 leaves the app's folder for a look.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = [
  { name: '@realtime/protocol', dir: 'services/protocol' },
  { name: '@realtime/client', dir: 'web/packages/client' },
  { name: '@realtime/react', dir: 'web/packages/react' },
];

function fail(message, detail = '') {
  process.stderr.write(`pack-check: FAILED: ${message}\n${detail ? `${detail}\n` : ''}`);
  process.exit(1);
}

function run(cmd, args, cwd, what) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  } catch (err) {
    fail(what, `${err.stdout ?? ''}${err.stderr ?? ''}`.trim());
  }
}

// The lock file's versions, so that the app is built with what the repo tests with.
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const locked = (name) => {
  const hit = Object.entries(lock.packages).find(([k]) => k === `node_modules/${name}` || k.endsWith(`/node_modules/${name}`));
  if (!hit) fail(`${name} is not in package-lock.json`);
  return hit[1].version;
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'realtime-pack-check-'));
try {
  // The tarballs hold dist only: it must be there (npm install's prepare builds it).
  run('npx', ['turbo', 'run', 'build', '--filter=@realtime/react...', '--output-logs=errors-only'], root, 'building the packages');
  const tarballs = {};
  for (const p of packages) {
    const out = run('npm', ['pack', '--json', '--pack-destination', tmp], path.join(root, p.dir), `npm pack of ${p.name}`);
    const [info] = JSON.parse(out.slice(out.indexOf('[')));
    const files = info.files.map((f) => f.path);
    const js = files.filter((f) => /^dist\/.*\.js$/.test(f));
    const dts = files.filter((f) => /^dist\/.*\.d\.ts$/.test(f));
    const bad = files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || /\.test\.[jt]sx?$|\.test\.d\.ts$|\.pg\.test/.test(f));
    if (!files.includes('dist/index.js') || !files.includes('dist/index.d.ts')) fail(`${p.name}'s tarball has no dist/index.js and dist/index.d.ts`, files.join('\n'));
    if (js.length === 0 || dts.length === 0) fail(`${p.name}'s tarball has no built JavaScript or no declarations`, files.join('\n'));
    if (bad.length) fail(`${p.name}'s tarball carries sources or tests`, bad.join('\n'));
    tarballs[p.name] = path.join(tmp, info.filename);
    process.stdout.write(`pack-check: ${p.name}: ${info.filename}, ${files.length} files (${js.length} .js, ${dts.length} .d.ts)\n`);
  }

  const app = path.join(tmp, 'app');
  mkdirSync(path.join(app, 'src'), { recursive: true });
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'realtime-pack-check-app',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`])),
          '@tanstack/react-query': locked('@tanstack/react-query'),
          react: locked('react'),
          'react-dom': locked('react-dom'),
        },
        devDependencies: {
          '@types/react': locked('@types/react'),
          '@types/react-dom': locked('@types/react-dom'),
          typescript: locked('typescript'),
          vite: locked('vite'),
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          jsx: 'react-jsx',
          strict: true,
          noEmit: true,
          isolatedModules: true,
          verbatimModuleSyntax: true,
          skipLibCheck: false,
          types: [],
        },
        include: ['src'],
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(app, 'index.html'), '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n');
  writeFileSync(path.join(app, 'vite.config.js'), "export default { oxc: { jsx: { runtime: 'automatic' } }, logLevel: 'warn' };\n");
  writeFileSync(
    path.join(app, 'src', 'main.tsx'),
    `import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRealtime } from '@realtime/client';
import { RealtimeProvider, useConnection, useLiveQuery } from '@realtime/react';

type Project = { id: string; name: string; createdAt: string };

const client = createRealtime({
  url: window.location.origin,
  getToken: async () => {
    const res = await fetch('/api/realtime/token');
    if (res.status === 401) return null;
    const body = (await res.json()) as { token: string; expiresAt: string };
    return { token: body.token, expiresAt: Date.parse(body.expiresAt) };
  },
});

function Projects() {
  const { status } = useConnection();
  const { data } = useLiveQuery<Project>({
    channel: 'projects',
    queryKey: ['projects'],
    queryFn: async (): Promise<Project[]> => (await fetch('/api/projects')).json(),
    filter: { name: 'Acme' },
    compare: (a, b) => b.createdAt.localeCompare(a.createdAt),
  });
  const rows: Project[] | undefined = data;
  return (
    <ul data-status={status}>
      {rows?.map((p) => (
        <li key={p.id}>{p.name}</li>
      ))}
    </ul>
  );
}

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={new QueryClient()}>
    <RealtimeProvider client={client}>
      <Projects />
    </RealtimeProvider>
  </QueryClientProvider>,
);
`,
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app, 'npm install of the tarballs in a fresh app');
  run('npx', ['tsc', '--noEmit', '-p', '.'], app, 'tsc --noEmit in the fresh app (the packages\' declarations do not type-check as an outside app uses them)');
  run('npx', ['vite', 'build'], app, 'vite build of the fresh app');
  process.stdout.write(`pack-check: passed (a fresh Vite + React + TypeScript app installed the tarballs, type-checked and built)${process.env.KEEP ? `; kept in ${app}` : ''}\n`);
} finally {
  if (!process.env.KEEP) rmSync(tmp, { recursive: true, force: true });
}
