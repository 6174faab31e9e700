// A server that refuses a parameter of the connection's startup packet: PgBouncer does for
// every one it does not track (it answers "unsupported startup parameter: <name>"). The
// processes send none of their own; one can still come from a URL's query string
// (?options=..., ?statement_timeout=...) or from a replication connection sent to a pooler.

export class StartupParameterError extends Error {
  constructor(
    readonly variable: string,
    readonly parameter: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${variable} leads to a server that refuses the startup parameter "${parameter}" (PgBouncer refuses every parameter it does not track). ` +
        (parameter === 'replication'
          ? 'Replication and LISTEN need Postgres itself: set DATABASE_URL_DIRECT to Postgres\'s own address, not the pooler\'s (docs/operations.md, "Behind PgBouncer").'
          : `Remove ${parameter} from ${variable}'s query string: the processes need nothing set at connection start (the statement timeout is the login role's default), ` +
            `or add ${parameter} to PgBouncer's ignore_startup_parameters (docs/operations.md, "Behind PgBouncer").`),
      options,
    );
    this.name = 'StartupParameterError';
  }
}

/** The parameter a server refused at connection start, or null for any other failure. */
export function refusedStartupParameter(err: unknown): string | null {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const m = /unsupported startup parameter(?: in options)?: ([^\s,;]+)/i.exec((e as Error).message ?? '');
    if (m) return m[1]!;
  }
  return null;
}

/** Runs `fn` (a first use of a connection), naming `variable` and the fix if the server refuses a startup parameter. */
export async function namingStartupRefusal<T>(variable: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const parameter = refusedStartupParameter(err);
    if (parameter) throw new StartupParameterError(variable, parameter, { cause: err });
    throw err;
  }
}
