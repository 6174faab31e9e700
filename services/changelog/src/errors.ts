// The errors a caller of the change log acts on, and the URL as errors and logs show it.

/** The URL without its password, for errors and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<an unparsable Redis URL>';
  }
}

/** A Redis command of the change log failed: names the URL and the operation. */
export class ChangeLogError extends Error {
  override readonly name = 'ChangeLogError';
  constructor(
    readonly url: string,
    readonly op: string,
    cause: unknown,
  ) {
    super(`change log at ${url}: ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * An append to a stream that `current` no longer names: this writer's history was
 * replaced (a restored database opened a new epoch). Nothing was written; the writer
 * stops appending there and reads `current` again.
 */
export class NotCurrentError extends Error {
  override readonly name = 'NotCurrentError';
  constructor(
    readonly key: string,
    readonly current: string | null,
  ) {
    super(`change log: ${key} is not the current history (current is ${current ?? 'unset'}); nothing was appended: read current() and append there, or open a new epoch`);
  }
}
