// Development-only warnings without a bundler contract: Vite replaces `import.meta.env`,
// webpack, esbuild and others `process.env.NODE_ENV`; where nothing does and there is no
// `process` (a plain browser script), reading it throws and we stay quiet.

// Declared here so that the package needs no Node or Vite types; read only inside the try.
declare const process: { env: { NODE_ENV?: string } };

export function isDev(): boolean {
  const vite = (import.meta as { env?: { DEV?: boolean } }).env;
  if (vite && typeof vite.DEV === 'boolean') return vite.DEV;
  try {
    return process.env.NODE_ENV !== 'production';
  } catch {
    return false;
  }
}
