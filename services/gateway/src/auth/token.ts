// Realtime tokens: HS256 JWTs whose claims are the grant. Verified at the handshake;
// `exp` is honored then and, for a live socket, when it passes.
import { SignJWT, jwtVerify, errors } from 'jose';
import { grantSchema, type Grant } from '@realtime/protocol';

export interface Verified {
  grant: Grant;
  subject: string | null;
  /** Seconds since the epoch, when the token stops being valid. */
  expiresAt: number | null;
}

export class TokenError extends Error {}

export async function signToken(secret: Uint8Array, grant: Grant, opts: { subject?: string; ttlSeconds?: number } = {}): Promise<string> {
  const jwt = new SignJWT({ channels: grant.channels, projects: grant.projects }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (opts.subject) jwt.setSubject(opts.subject);
  jwt.setExpirationTime(`${opts.ttlSeconds ?? 3600}s`);
  return jwt.sign(secret);
}

export async function verifyToken(secret: Uint8Array, token: unknown): Promise<Verified> {
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('no token: connect with auth: { token } (GET /api/realtime/token issues one)');
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    const grant = grantSchema.safeParse(payload);
    if (!grant.success) throw new TokenError('the token carries no grant (claims "channels" and "projects")');
    return { grant: grant.data, subject: payload.sub ?? null, expiresAt: payload.exp ?? null };
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new TokenError('the token has expired: fetch a new one');
    throw new TokenError('the token is not valid (bad signature or format)');
  }
}
