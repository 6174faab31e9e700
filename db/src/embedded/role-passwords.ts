// The passwords of the embedded cluster's login roles (db/src/roles.ts), generated once and
// kept beside the superuser's in the data folder, mode 0600: whoever may start the cluster
// may read them, and every process of the clone connects with the same ones.
import fs from 'node:fs/promises';
import path from 'node:path';
import { SERVICES, type Service } from '../roles';
import { generatePassword } from './password';

export const ROLE_PASSWORDS_FILE = 'realtime-role-passwords.json';

function parse(text: string): Record<Service, string> | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const ok = data !== null && typeof data === 'object' && SERVICES.every((s) => typeof (data as Record<string, unknown>)[s] === 'string' && (data as Record<string, string>)[s] !== '');
  if (!ok) return null;
  return data as Record<Service, string>;
}

/**
 * The folder's login passwords, made on first use. Created by linking a finished file into
 * place, which fails when another process got there first: both then use the first one's,
 * so that neither sets a password the other does not know.
 */
export async function embeddedRolePasswords(dataDir: string): Promise<Record<Service, string>> {
  const file = path.join(dataDir, ROLE_PASSWORDS_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let text: string | null = null;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        throw new Error(
          `Cannot read the embedded Postgres login passwords in ${file} (${code ?? 'unknown error'}). ` +
            'Run as the user who first started that data folder, or set DATABASE_URL to a Postgres you run yourself.',
          { cause: err },
        );
      }
    }
    if (text !== null) {
      const passwords = parse(text);
      if (passwords) return passwords;
      throw new Error(`The embedded Postgres login password file ${file} is damaged. Delete it: new passwords are made and set at the next start.`);
    }
    const fresh = Object.fromEntries(SERVICES.map((s) => [s, generatePassword()])) as Record<Service, string>;
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await fs.writeFile(tmp, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600 });
      await fs.chmod(tmp, 0o600);
      await fs.link(tmp, file);
      return fresh;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
  throw new Error(`Could not create the embedded Postgres login passwords in ${file}. Check that the data folder is writable, then start again.`);
}
