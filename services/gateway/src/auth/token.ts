// Realtime tokens: HS256 JWTs. A user token (`uid`, from GET /api/realtime/token, 15
// minutes) names a user whose memberships decide what reaches them; a service token
// carries a static grant and is minted only by a backend holding the secret. Verified
// at the handshake and on refresh; `exp` is honored then and, for a live socket, when it passes.
import { SignJWT, jwtVerify, errors } from 'jose';
import { grantSchema, userClaimsSchema, type Grant } from '@realtime/protocol';

export type Principal = { kind: 'user'; userId: string } | { kind: 'service'; grant: Grant };

export interface Verified {
  principal: Principal;
  subject: string | null;
  /** Seconds since the epoch, when the token stops being valid. */
  expiresAt: number | null;
}

export class TokenError extends Error {}

/** Most a user token may live: a revoked session stops streaming within this. */
export const MAX_USER_TOKEN_SECONDS = 15 * 60;

export async function signToken(secret: Uint8Array, grant: Grant, opts: { subject?: string; ttlSeconds?: number } = {}): Promise<string> {
  const jwt = new SignJWT({ channels: grant.channels, projects: grant.projects }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (opts.subject) jwt.setSubject(opts.subject);
  jwt.setExpirationTime(`${opts.ttlSeconds ?? 3600}s`);
  return jwt.sign(secret);
}

export async function signUserToken(secret: Uint8Array, userId: string, ttlSeconds = MAX_USER_TOKEN_SECONDS): Promise<string> {
  return new SignJWT({ uid: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(`${Math.min(ttlSeconds, MAX_USER_TOKEN_SECONDS)}s`)
    .sign(secret);
}

export async function verifyToken(secret: Uint8Array, token: unknown): Promise<Verified> {
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('no token: connect with auth: { token } (GET /api/realtime/token issues one)');
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    const expiresAt = payload.exp ?? null;
    const user = userClaimsSchema.safeParse(payload);
    if (user.success) {
      // A token that never expires would outlive every revocation of its session.
      if (expiresAt === null) throw new TokenError('the token has no expiry: fetch a new one from GET /api/realtime/token');
      return { principal: { kind: 'user', userId: user.data.uid }, subject: payload.sub ?? null, expiresAt };
    }
    const grant = grantSchema.safeParse(payload);
    if (!grant.success) throw new TokenError('the token carries no user ("uid") and no grant (claims "channels" and "projects")');
    return { principal: { kind: 'service', grant: grant.data }, subject: payload.sub ?? null, expiresAt };
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new TokenError('the token has expired: fetch a new one');
    throw new TokenError('the token is not valid (bad signature or format)');
  }
}
