// The fault schedule of a run, its users and its subscribers, decided by the seed before
// anything starts. Faults of the servers (replicators, gateways, Postgres, mode) run one
// after another on one lane, so that each is survived before the next; faults of clients
// run on a lane of their own, at the same time. Postgres restarts exactly once (a third of
// the way), crashes exactly once (two thirds of the way), and is restored from a backup
// exactly once (half way). With the shared change log on, Redis is killed, restarted
// empty, flushed and frozen among them.
import { memberRoles as roles, type MemberRole as Role } from '@realtime/db/schema';
import type { Rng } from './rng';
import { tables } from './workload';

export const serverFaults = ['replicator-kill', 'standby-takeover', 'gateway-restart', 'mode-switch', 'postgres-restart', 'postgres-crash', 'restore', 'redis-kill', 'redis-restart', 'redis-flush', 'redis-pause'] as const;
/** Faults of the shared change log: planned only when the run has one. */
export const redisFaults: readonly ServerFault[] = ['redis-kill', 'redis-restart', 'redis-flush', 'redis-pause'];
/** The server faults a run plans: Redis's only with Redis. */
export const serverFaultsOf = (redis: boolean): ServerFault[] => serverFaults.filter((k) => redis || !redisFaults.includes(k));
/** Faults of the whole database: each happens exactly once per run. */
export const onceFaults: readonly ServerFault[] = ['postgres-restart', 'postgres-crash', 'restore'];
export const clientFaults = ['client-disconnect', 'slow-client'] as const;
export type ServerFault = (typeof serverFaults)[number];
export type ClientFault = (typeof clientFaults)[number];
export type FaultKind = ServerFault | ClientFault;

export interface PlannedFault<K extends FaultKind = FaultKind> {
  /** Milliseconds after the writers start. */
  at: number;
  kind: K;
}

export interface Plan {
  server: PlannedFault<ServerFault>[];
  client: PlannedFault<ClientFault>[];
}

/**
 * Every server fault kind (about 8 s a fault, and a slot for each kind in any run), as
 * evenly as the slots allow, each fault of the whole database (restart, crash, restore) once; client faults every 1 to 3 s, a slow
 * client one time in five. The last fifth of the run has no fault: the stream must
 * still be whole after the last one.
 */
export function planFaults(r: Rng, durationMs: number, redis = false): Plan {
  const window = Math.floor(durationMs * 0.8);
  const kindsOfRun = serverFaultsOf(redis);
  // Room for every kind at least once, even in the shortest run.
  const slots = Math.max(kindsOfRun.length, Math.floor(window / 8000));
  const others = kindsOfRun.filter((k) => !onceFaults.includes(k));
  // Rounds of every kind, each round shuffled: kinds come evenly, in no fixed order.
  const kinds: ServerFault[] = [];
  const room = Math.max(0, slots - onceFaults.length);
  while (kinds.length < room) {
    const round = [...others];
    shuffle(r, round);
    kinds.push(...round.slice(0, room - kinds.length));
  }
  kinds.splice(Math.floor(kinds.length / 3), 0, 'postgres-restart');
  kinds.splice(Math.floor(((kinds.length + 1) * 2) / 3), 0, 'postgres-crash');
  kinds.splice(Math.floor((kinds.length + 1) / 2), 0, 'restore');
  const step = window / (kinds.length + 1);
  const server = kinds.map((kind, i) => ({ kind, at: Math.round(step * (i + 1) + (r() - 0.5) * step * 0.3) }));
  const client: PlannedFault<ClientFault>[] = [];
  for (let at = r.int(500, 1500); at < window; at += r.int(1000, 3000)) client.push({ at, kind: r.chance(0.2) ? 'slow-client' : 'client-disconnect' });
  return { server, client };
}

function shuffle<T>(r: Rng, xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

/** How many of each kind a plan (or a run) holds, every kind named, in a fixed order. */
export function countByKind(faults: { kind: FaultKind }[]): Record<FaultKind, number> {
  const counts = Object.fromEntries([...serverFaults, ...clientFaults].map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of faults) counts[f.kind]++;
  return counts;
}

export { roles, type Role };

export interface UserPlan {
  index: number;
  /** Pinned projects (by index) and the role held in each at the start. */
  memberships: { project: number; role: Role }[];
}

/**
 * The users and what they hold at the start: pinned project k is created by user
 * k mod `users` (so the creator owns it, through the product's own trigger), and each
 * user is granted each other pinned project one time in two, with a random role.
 */
export function planUsers(r: Rng, users: number, pinned: number): UserPlan[] {
  return Array.from({ length: users }, (_, index) => {
    const memberships: UserPlan['memberships'] = [];
    for (let project = 0; project < pinned; project++) {
      if (project % users === index) memberships.push({ project, role: 'owner' });
      else if (r.chance(0.5)) memberships.push({ project, role: r.pick(roles) });
    }
    return { index, memberships };
  });
}

export interface SubscriberPlan {
  index: number;
  /** The user it signs in as (an index into the users), or null for the service token. */
  user: number | null;
  channel: string;
  filter: Record<string, string>;
  gateway: number;
  start: 'list' | 'replay';
  joinAt: number;
  /** Renews its token before it ends; one user subscriber does not, like a tab asleep, and is closed at expiry. */
  renews: boolean;
}

// Subscribers watch the tables the workload writes.
const channels = tables;

/**
 * Subscribers over every channel, split between the gateways: unfiltered, filtered by
 * one of the pinned projects (rows move in and out of those), or on projects by status
 * (a status flip is a move). Most join at the start; the rest while writes go on, from
 * a list or with a replay of everything so far. The first holds the service token (it
 * sees every project and has no session, so it always starts from a replay); the others
 * are the users in turn, filtered mostly on a project they hold at the start and now and
 * then on one they do not (refused until a grant comes). The first user subscriber never
 * renews its token.
 */
export function planSubscribers(r: Rng, count: number, pinned: readonly string[], durationMs: number, gateways: number, users: readonly UserPlan[]): SubscriberPlan[] {
  return Array.from({ length: count }, (_, index) => {
    const user = index === 0 || users.length === 0 ? null : users[(index - 1) % users.length]!;
    const channel = channels[index % channels.length]!;
    let filter: Record<string, string> = {};
    const shape = r.int(0, 2);
    if (channel === 'projects') filter = shape === 0 ? {} : { status: shape === 1 ? 'active' : 'archived' };
    else if (shape > 0 && pinned.length) {
      const held = user?.memberships.map((m) => pinned[m.project]!) ?? [];
      filter = { project_id: held.length && r.chance(0.8) ? r.pick(held) : r.pick(pinned) };
    }
    const late = r.chance(0.35);
    const start = r.chance(0.6) ? 'list' : 'replay';
    // The first user subscriber lets its token run out, from the start so that it does within any run.
    const sleeper = user !== null && index === 1;
    return {
      index,
      user: user?.index ?? null,
      channel,
      filter,
      gateway: index % gateways,
      start: user ? start : 'replay',
      joinAt: late && !sleeper ? r.int(1000, Math.floor(durationMs * 0.6)) : 0,
      renews: !sleeper,
    };
  });
}
