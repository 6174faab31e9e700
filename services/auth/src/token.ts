// Realtime tokens: HS256 JWTs. A user token (`uid`, from GET /api/realtime/token, 15
// minutes) names a user whose memberships decide what reaches them, and the session it
// was issued for (`sid`), whose end closes its sockets; a service token
// carries a static grant and is minted only by a backend holding the secret. Verified
// at the handshake and on refresh; `exp` is honored then and, for a live socket, when it passes.
import { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, type Grant } from '@realtime/protocol';
import { grantSchema, userClaimsSchema } from '@realtime/protocol/validate';

export { TOKEN_AUDIENCE, TOKEN_ISSUER };

/** `sessionId`: the public id of the session the user token was issued for, or null (an OpenID Connect caller has none). */
export type Principal = { kind: 'user'; userId: string; sessionId: string | null } | { kind: 'service'; grant: Grant };

export interface Verified {
  principal: Principal;
  subject: string | null;
  /** Seconds since the epoch, when the token stops being valid. */
  expiresAt: number | null;
}

export class TokenError extends Error {}

/** Most a user token may live: a revoked session stops streaming within this. */
export const MAX_USER_TOKEN_SECONDS = 15 * 60;
/** Most a service token may live; a backend mints a new one at least daily. */
export const MAX_SERVICE_TOKEN_SECONDS = 24 * 3600;
// Clocks of the issuing and the verifying process may differ a little.
const CLOCK_SKEW_SECONDS = 60;

export async function signToken(secret: Uint8Array, grant: Grant, opts: { subject?: string; ttlSeconds?: number } = {}): Promise<string> {
  const jwt = new SignJWT({ channels: grant.channels, projects: grant.projects }).setProtectedHeader({ alg: 'HS256' }).setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setIssuedAt();
  if (opts.subject) jwt.setSubject(opts.subject);
  jwt.setExpirationTime(`${Math.min(opts.ttlSeconds ?? 3600, MAX_SERVICE_TOKEN_SECONDS)}s`);
  return jwt.sign(secret);
}

/** `sessionId`: the public id of the session that asked for it (sessions.sid); its end makes the token worthless. */
export async function signUserToken(secret: Uint8Array, userId: string, ttlSeconds = MAX_USER_TOKEN_SECONDS, sessionId?: string | null): Promise<string> {
  return new SignJWT(sessionId ? { uid: userId, sid: sessionId } : { uid: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(`${Math.min(ttlSeconds, MAX_USER_TOKEN_SECONDS)}s`)
    .sign(secret);
}

// The secret as a WebCrypto key, imported once per secret: given the raw bytes, jose
// imports them again for every token, which a reconnect storm pays thousands of times.
const verifyKeys = new WeakMap<Uint8Array, Promise<webcrypto.CryptoKey>>();

function verifyKey(secret: Uint8Array): Promise<webcrypto.CryptoKey> {
  let key = verifyKeys.get(secret);
  if (!key) {
    key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    verifyKeys.set(secret, key);
    // A secret WebCrypto refuses is tried again, to fail again with its reason, not a stale one.
    key.catch(() => verifyKeys.delete(secret));
  }
  return key;
}

export async function verifyToken(secret: Uint8Array, token: unknown): Promise<Verified> {
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('no token: connect with auth: { token } (GET /api/realtime/token issues one)');
  try {
    const { payload } = await jwtVerify(token, await verifyKey(secret), { algorithms: ['HS256'], issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, requiredClaims: ['exp'] });
    const expiresAt = payload.exp!;
    const user = userClaimsSchema.safeParse(payload);
    // A token that lives longer than its kind may would outlive the revocations it should obey.
    const longest = (user.success ? MAX_USER_TOKEN_SECONDS : MAX_SERVICE_TOKEN_SECONDS) + CLOCK_SKEW_SECONDS;
    if (expiresAt - Date.now() / 1000 > longest) throw new TokenError(`the token lives longer than ${longest - CLOCK_SKEW_SECONDS} s: fetch a new one`);
    if (user.success) return { principal: { kind: 'user', userId: user.data.uid, sessionId: user.data.sid ?? null }, subject: payload.sub ?? null, expiresAt };
    const grant = grantSchema.safeParse(payload);
    if (!grant.success) throw new TokenError('the token carries no user ("uid") and no grant (claims "channels" and "projects")');
    return { principal: { kind: 'service', grant: grant.data }, subject: payload.sub ?? null, expiresAt };
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new TokenError('the token has expired: fetch a new one');
    if (err instanceof errors.JWTClaimValidationFailed) {
      throw new TokenError(err.claim === 'exp' ? 'the token has no expiry ("exp"): fetch a new one' : `the token's "${err.claim}" claim is wrong: it was not issued for this gateway`);
    }
    throw new TokenError('the token is not valid (bad signature or format)');
  }
}
