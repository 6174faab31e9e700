// Which URL each part connects with for an external database: its DATABASE_URL_* login,
// behind PgBouncer its direct URL with the same credentials, or the owner's when unset.
import { describe, expect, test } from 'vitest';
import { externalLogins } from './database';
import { loadDbEnv } from './env';

const OWNER = 'postgres://owner:o@db:5432/realtime';
const logins = (vars: Record<string, string>) => {
  const env = loadDbEnv({ DATABASE_URL: OWNER, ...vars });
  return externalLogins(env, { url: OWNER, directUrl: env.DATABASE_URL_DIRECT ?? OWNER });
};

describe('externalLogins', () => {
  test('unset: every part uses the owner, and no role is set up', () => {
    const { logins: l, loginRoles } = logins({});
    expect(l).toEqual({ api: { url: OWNER, directUrl: OWNER }, gateway: { url: OWNER, directUrl: OWNER }, replicator: { url: OWNER, directUrl: OWNER } });
    expect(loginRoles).toEqual([]);
  });

  test('a part with a URL of its own uses it, and its role is set up with that password (decoded)', () => {
    const { logins: l, loginRoles } = logins({ DATABASE_URL_API: 'postgres://rt_api:p%40ss@pgbouncer:6432/realtime' });
    expect(l.api).toEqual({ url: 'postgres://rt_api:p%40ss@pgbouncer:6432/realtime', directUrl: 'postgres://rt_api:p%40ss@pgbouncer:6432/realtime', variable: 'DATABASE_URL_API' });
    expect(l.gateway.url).toBe(OWNER);
    expect(loginRoles).toEqual([{ service: 'api', user: 'rt_api', password: 'p@ss' }]);
  });

  test('behind PgBouncer, a part\'s direct URL is DATABASE_URL_DIRECT with its own credentials', () => {
    const { logins: l } = logins({ DATABASE_URL_DIRECT: 'postgres://owner:o@db-direct:5432/realtime', DATABASE_URL_REPLICATOR: 'postgres://rt_rep:r@pgbouncer:6432/realtime' });
    expect(l.replicator).toEqual({ url: 'postgres://rt_rep:r@pgbouncer:6432/realtime', directUrl: 'postgres://rt_rep:r@db-direct:5432/realtime', variable: 'DATABASE_URL_REPLICATOR' });
    expect(l.api.directUrl).toBe('postgres://owner:o@db-direct:5432/realtime');
  });

  test('a URL without a password leaves the role\'s password alone (certificate or peer authentication)', () => {
    expect(logins({ DATABASE_URL_GATEWAY: 'postgres://rt_gw@db:5432/realtime' }).loginRoles).toEqual([{ service: 'gateway', user: 'rt_gw', password: null }]);
  });

  test('without the owner, a part with no URL of its own is an error naming its variable when used', () => {
    const env = loadDbEnv({ DATABASE_URL_REPLICATOR: 'postgres://rt_rep:r@db:5432/realtime' });
    const { logins: l } = externalLogins(env, null);
    expect(l.replicator.url).toBe('postgres://rt_rep:r@db:5432/realtime');
    expect(() => l.api.url).toThrow(/DATABASE_URL_API is not set/);
    expect(() => l.gateway.directUrl).toThrow(/DATABASE_URL_GATEWAY is not set/);
  });

  test('a URL naming no user is refused with the variable and an example', () => {
    expect(() => logins({ DATABASE_URL_GATEWAY: 'postgres://db:5432/realtime' })).toThrow(/DATABASE_URL_GATEWAY names no user.*realtime_gateway_login/);
  });
});
