// Server events for the client's tests.
import type { ChangesEvent } from '@realtime/protocol';

/** A batch of INSERTs for subscription `sub`, one per seq. */
export const change = (sub: string, ...seqs: number[]): ChangesEvent => ({ sub, channel: 'projects', changes: seqs.map((seq) => ({ seq, op: 'INSERT' as const, row: { id: `r${seq}` }, old: null, committedAt: '' })) });
