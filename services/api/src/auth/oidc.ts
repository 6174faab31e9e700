// External identity: `Authorization: Bearer <jwt>` from an OpenID Connect provider,
// verified against its JWKS (jose fetches and caches the keys), issuer, audience and
// expiry. The user is the one linked to the token's `sub`, else the one with its
// verified email (then linked, so a later change of email at the provider still finds it).
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type pg from 'pg';
import { HttpError } from '../errors';
import type { AuthUser } from './sessions';

export interface OidcConfig {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

// Asymmetric only: an HS256 token would be signed with a secret the provider never shares.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export class Oidc {
  private readonly keys: JWTVerifyGetKey;

  constructor(
    private readonly pool: pg.Pool,
    private readonly config: OidcConfig,
  ) {
    this.keys = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  async user(token: string): Promise<AuthUser> {
    let claims: { sub?: string; email?: unknown; email_verified?: unknown };
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys, { issuer: this.config.issuer, audience: this.config.audience, algorithms: ALGORITHMS }));
    } catch (err) {
      throw new HttpError(401, 'UNAUTHORIZED', `the bearer token was refused: ${describe(err)}`);
    }
    if (!claims.sub) throw new HttpError(401, 'UNAUTHORIZED', 'the bearer token has no "sub" claim');
    const bySubject = await this.pool.query<AuthUser>(`SELECT id, email, name, operator FROM users WHERE oidc_subject = $1`, [claims.sub]);
    if (bySubject.rows[0]) return bySubject.rows[0];
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : null;
    if (!email || claims.email_verified !== true) {
      throw new HttpError(403, 'FORBIDDEN', 'no account is linked to this identity, and the token carries no verified email to find one by');
    }
    // Linked only while unlinked: an account tied to another subject is not taken over.
    const linked = await this.pool.query<AuthUser>(
      `UPDATE users SET oidc_subject = $1, updated_at = now() WHERE email = $2 AND oidc_subject IS NULL RETURNING id, email, name, operator`,
      [claims.sub, email],
    );
    if (linked.rows[0]) return linked.rows[0];
    throw new HttpError(403, 'FORBIDDEN', `no account for ${email}: an operator adds one with \`npm run users -- add ${email}\``);
  }
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim "${err.claim}" is wrong (${err.reason})`;
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the provider signed it';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError && err.code === 'ERR_JWKS_INVALID') return 'the provider\'s keys could not be fetched';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  return 'not a valid token';
}
