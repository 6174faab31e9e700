// Whose X-Forwarded-For and X-Forwarded-Proto are believed. A count of hops believes the
// nearest peer whoever it is: a client that reaches the server directly (a port left open,
// a second interface) sends its own X-Forwarded-For and picks the address every per-address
// budget counts. So the trusted hops are named, by address or network, and only a peer
// among them is asked who the client was.
import net from 'node:net';

/** proxy-addr's names for whole ranges. */
const RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One trusted hop: an address, a network in CIDR form, or a range's name. */
export function trustedHopProblem(entry: string): string | null {
  if (RANGES.has(entry)) return null;
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || !address) return `"${entry}" is not an address or a network`;
  const family = net.isIP(address);
  if (family === 0) return `"${entry}" is not an IP address (host names are not resolved here)`;
  if (bits === undefined) return null;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}": the prefix length must be 0 to ${max}`;
  return null;
}

/**
 * TRUST_PROXY: `0` or empty believes no forwarded header; otherwise the proxies' addresses
 * or networks, separated by commas (`127.0.0.1`, `10.0.0.0/8`, `loopback`). Throws with the fix.
 */
export function parseTrustProxy(value: string | undefined): string[] | false {
  const v = (value ?? '').trim();
  if (v === '' || v === '0') return false;
  if (v === '1' || v.toLowerCase() === 'true') {
    throw new Error(
      'TRUST_PROXY=1 would believe X-Forwarded-For from any peer, a client that connects directly included: name the proxy instead, by address or network (TRUST_PROXY=127.0.0.1, TRUST_PROXY=10.0.0.0/8), or 0 for none',
    );
  }
  const entries = v.split(',').map((s) => s.trim()).filter(Boolean);
  const problems = entries.map(trustedHopProblem).filter((p): p is string => p !== null);
  if (problems.length) throw new Error(`TRUST_PROXY lists the proxies' addresses or networks, separated by commas: ${problems.join('; ')}`);
  return entries;
}
