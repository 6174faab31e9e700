// Which subscription a server event is for, on the current connection: ids bound at their
// ack, ids let go (whose late events are expected), events that arrive before their
// subscription's ack (held until it comes), and the fingerprints of recent positions that
// a resume sends. Reset at every connect and disconnect.
import type { ChangesEvent, LiveEvent, ResyncEvent } from '@realtime/protocol';
import type { Resume } from '../types.js';

export type ServerEvent = ['changes', ChangesEvent] | ['live', LiveEvent] | ['resync', ResyncEvent];

/**
 * - `deliver`: to the subscription bound to the id.
 * - `ignore`: an id this connection let go; events still on the way are expected.
 * - `hold`: its ack may still be on the way.
 * - `stray`: no subscription of ours: a server fault.
 */
export type Route = 'deliver' | 'ignore' | 'hold' | 'stray';

export function routeOf(bound: boolean, retired: boolean, awaiting: number): Route {
  if (bound) return 'deliver';
  if (retired) return 'ignore';
  return awaiting > 0 ? 'hold' : 'stray';
}

/** Events held for a subscription whose ack has not come, at most. */
const EARLY_LIMIT = 10_000;
/** How many positions (the last change of each batch) the client remembers the fingerprint of. */
const KEPT_FINGERPRINTS = 10_000;

export class Routes<T> {
  private readonly bound = new Map<string, T>();
  private readonly retired = new Set<string>();
  /** Subscribes sent on this connection whose ack has not come back. */
  private readonly awaiting = new Set<T>();
  private early: ServerEvent[] = [];
  /** The fingerprint of the last change of each recent batch, by seq: what a resume from it sends (`fp`). */
  private readonly fingerprints = new Map<number, string>();

  reset(): void {
    this.bound.clear();
    this.retired.clear();
    this.awaiting.clear();
    this.early = [];
  }

  await(sub: T): void {
    this.awaiting.add(sub);
  }

  answered(sub: T): void {
    this.awaiting.delete(sub);
  }

  bind(id: string, sub: T): void {
    this.bound.set(id, sub);
  }

  /** The events held for `id`, taken out. */
  held(id: string): ServerEvent[] {
    const mine = this.early.filter(([, e]) => e.sub === id);
    this.early = this.early.filter(([, e]) => e.sub !== id);
    return mine;
  }

  retire(id: string): void {
    this.bound.delete(id);
    this.retired.add(id);
  }

  /** Where an event goes; one held is kept for its ack. */
  route(event: ServerEvent): { route: Route; sub?: T } {
    const id = event[1].sub;
    const sub = this.bound.get(id);
    const route = routeOf(sub !== undefined, this.retired.has(id), this.awaiting.size);
    if (route === 'hold' && this.early.length < EARLY_LIMIT) this.early.push(event);
    return sub === undefined ? { route } : { route, sub };
  }

  /** With no ack outstanding, the events still held belong to no subscription of ours: they are returned as strays. */
  settle(): ServerEvent[] {
    if (this.awaiting.size > 0 || this.early.length === 0) return [];
    const left = this.early;
    this.early = [];
    return left.filter(([, e]) => !this.retired.has(e.sub));
  }

  /** Remembers the fingerprint of a batch's last change: the position a subscription resumes from. */
  remember(batch: ChangesEvent): void {
    const last = batch.changes[batch.changes.length - 1];
    if (!last || typeof last.fp !== 'string') return;
    this.fingerprints.delete(last.seq);
    this.fingerprints.set(last.seq, last.fp);
    if (this.fingerprints.size > KEPT_FINGERPRINTS) this.fingerprints.delete(this.fingerprints.keys().next().value!);
  }

  /** A resume from a seq carries that change's fingerprint, so the gateway can tell it is of the same history. */
  withFingerprint(resume: Resume): Resume {
    if (!('since' in resume) || resume.since === undefined || resume.since <= 0 || resume.fp) return resume;
    const fp = this.fingerprints.get(resume.since);
    return fp ? ({ ...resume, fp } as Resume) : resume;
  }
}
