// A LISTEN connection of its own (direct, never through PgBouncer): notifications go
// to `onNotify`, a lost connection to `onLost`, and a client that fails to start is
// closed rather than left half-open.
import pg from 'pg';

export async function openListener(opts: {
  url: string;
  channel: string;
  applicationName: string;
  onNotify: (payload: string | undefined) => void;
  onLost: (err: Error, client: pg.Client) => void;
}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: opts.url, application_name: opts.applicationName });
  client.on('notification', (n) => opts.onNotify(n.payload));
  client.on('error', (err) => opts.onLost(err, client));
  try {
    await client.connect();
    await client.query(`LISTEN ${client.escapeIdentifier(opts.channel)}`);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}
