// pg_snapshot as text ("xmin:xmax:xip,xip"), and whether a transaction's changes are
// visible in it: the tool for the exact handoff between an HTTP list and the stream.

export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
  xip: Set<bigint>;
}

export function parseSnapshot(text: string): Snapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text);
  if (!m) throw new Error(`not a pg_snapshot: "${text}"`);
  const xmin = BigInt(m[1]!);
  const xmax = BigInt(m[2]!);
  if (xmin > xmax) throw new Error(`not a pg_snapshot: xmin ${xmin} is after xmax ${xmax}`);
  const xip = new Set(m[3] ? m[3].split(',').map((x) => BigInt(x)) : []);
  for (const x of xip) if (x < xmin || x >= xmax) throw new Error(`not a pg_snapshot: in-progress ${x} outside [${xmin}, ${xmax})`);
  return { xmin, xmax, xip };
}

/** Was a committed transaction's work visible to the snapshot (pg_visible_in_snapshot)? */
export function visibleIn(snapshot: Snapshot, txid: bigint): boolean {
  if (txid < snapshot.xmin) return true;
  if (txid >= snapshot.xmax) return false;
  return !snapshot.xip.has(txid);
}
