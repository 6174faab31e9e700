// Log sequence numbers as bigints: Postgres prints them as two hex halves ("16/B374D848"),
// and acknowledging the wrong one by a single byte can skip a transaction on restart.

export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`not an LSN: "${text}" (expected two hex halves, like 16/B374D848)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new Error(`LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export const maxLsn = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * pg-logical-replication's acknowledge() reports lsn + 1 as flushed. Postgres skips, on
 * restart, every transaction whose commit record starts before the confirmed position,
 * and the next commit may start exactly at this one's end: so hand it end - 1.
 */
export const forLibraryAck = (commitEnd: bigint): string => formatLsn(commitEnd > 0n ? commitEnd - 1n : 0n);

/** A commit timestamp in microseconds since the Unix epoch, as an ISO string that keeps them. */
export function microsToIso(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = (micros % 1000n).toString().padStart(3, '0');
  return new Date(Number(ms)).toISOString().replace('Z', `${rest}Z`);
}
