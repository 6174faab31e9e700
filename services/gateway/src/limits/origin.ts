// Which pages may open a socket. Browsers always send Origin on a WebSocket or a
// cross-site request, and a page cannot forge it; a client that sends none is not a
// browser page (a service, a test) and proves itself with its token alone.

export function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[]): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  // The page's own origin: served by this server (or the proxy in front, which keeps Host).
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  return allowed.some((a) => {
    try {
      return new URL(a).origin === url.origin;
    } catch {
      return false;
    }
  });
}
