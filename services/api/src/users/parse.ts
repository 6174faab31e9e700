// Pure helpers of `npm run users`: the command line checked before anything touches the
// database (emails, roles, project ids, names), and the table people read.
import { parseArgs } from 'node:util';
import { memberRoles, type MemberRole } from '@realtime/db/schema';

/** A bad argument: the CLI prints the message and the command's usage, and exits 2. */
export class ArgumentError extends Error {
  constructor(
    message: string,
    /** The command whose usage line helps; none for a missing or unknown command. */
    readonly command?: CommandName,
  ) {
    super(message);
    this.name = 'ArgumentError';
  }
}

export const COMMAND_USAGE = {
  add: 'add <email> [--name <name>] [--operator] [--password-stdin]',
  grant: 'grant <email> <projectId> <viewer|editor|owner>',
  revoke: 'revoke <email> <projectId>',
  remove: 'remove <email>',
  list: 'list [--json]',
  'reset-password': 'reset-password <email> [--password-stdin]',
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export const USAGE = `usage: npm run users -- <command> [options]

  ${COMMAND_USAGE.add}
        create a user; prints a generated password once, or reads one line from stdin
  ${COMMAND_USAGE.grant}
        add a project membership, or change its role
  ${COMMAND_USAGE.revoke}
        remove a project membership
  ${COMMAND_USAGE.remove}
        delete a user with their sessions and memberships
  ${COMMAND_USAGE.list}
        every user with their memberships; --json prints one JSON array
  ${COMMAND_USAGE['reset-password']}
        set a new password (generated, or one line from stdin) and sign the user out everywhere

Writes are recorded in the change outbox with the actor cli:<your OS user name>.
Exit codes: 0 done, 1 failed, 2 bad usage.`;

// The database's CHECK only asks for "x@y"; this also refuses spaces and a second "@",
// which are typing mistakes rather than addresses anyone receives mail at.
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTROL = /[\u0000-\u001f\u007f]/;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_NAME_LENGTH = 200;

/** Trimmed and lower-cased, as users.email is stored. */
export function normaliseEmail(text: string, command?: CommandName): string {
  const email = text.trim().toLowerCase();
  if (!EMAIL.test(email)) throw new ArgumentError(`<email>: "${text}" is not an email address (expected name@domain, e.g. someone@example.com)`, command);
  if (email.length > MAX_EMAIL_LENGTH) throw new ArgumentError(`<email>: at most ${MAX_EMAIL_LENGTH} characters, got ${email.length}`, command);
  return email;
}

export function parseRole(text: string, command?: CommandName): MemberRole {
  const role = text.trim().toLowerCase();
  if (!(memberRoles as readonly string[]).includes(role)) throw new ArgumentError(`<role> must be ${memberRoles.slice(0, -1).join(', ')} or ${memberRoles.at(-1)}, got "${text}"`, command);
  return role as MemberRole;
}

/** Project ids are UUIDs; checking here turns a typo into a message, not a Postgres syntax error. */
export function parseProjectId(text: string, command?: CommandName): string {
  const id = text.trim().toLowerCase();
  if (!UUID.test(id)) throw new ArgumentError(`<projectId>: "${text}" is not a project id (a UUID such as 0b6f3c2e-5d4a-4e8f-9a1b-2c3d4e5f6a7b; \`npm run users -- list\` shows the ids of projects with members)`, command);
  return id;
}

export function parseName(text: string, command?: CommandName): string {
  const name = text.trim();
  if (!name) throw new ArgumentError('--name must not be empty (leave the option out for no name)', command);
  if (name.length > MAX_NAME_LENGTH) throw new ArgumentError(`--name: at most ${MAX_NAME_LENGTH} characters, got ${name.length}`, command);
  if (CONTROL.test(name)) throw new ArgumentError('--name must not contain control characters (tabs, newlines)', command);
  return name;
}

/** The password on standard input: its first line, without the line break. */
export function passwordLine(input: string): string {
  const end = input.indexOf('\n');
  const line = end === -1 ? input : input.slice(0, end);
  const password = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!password) throw new ArgumentError("--password-stdin: standard input held no password (pipe one in: printf '%s\\n' \"$PASSWORD\" | npm run users -- ...)");
  return password;
}

export type UsersCommand =
  | { command: 'help' }
  | { command: 'add'; email: string; name: string; operator: boolean; passwordStdin: boolean }
  | { command: 'grant'; email: string; projectId: string; role: MemberRole }
  | { command: 'revoke'; email: string; projectId: string }
  | { command: 'remove'; email: string }
  | { command: 'list'; json: boolean }
  | { command: 'reset-password'; email: string; passwordStdin: boolean };

const OPTIONS = {
  add: { name: { type: 'string' }, operator: { type: 'boolean' }, 'password-stdin': { type: 'boolean' } },
  grant: {},
  revoke: {},
  remove: {},
  list: { json: { type: 'boolean' } },
  'reset-password': { 'password-stdin': { type: 'boolean' } },
} as const;

const ARGUMENTS: Record<CommandName, string[]> = {
  add: ['<email>'],
  grant: ['<email>', '<projectId>', '<role>'],
  revoke: ['<email>', '<projectId>'],
  remove: ['<email>'],
  list: [],
  'reset-password': ['<email>'],
};

const isCommand = (c: string): c is CommandName => Object.hasOwn(COMMAND_USAGE, c);

/** The command line, checked: anything wrong throws an ArgumentError naming the argument. */
export function parseCommand(argv: string[]): UsersCommand {
  const [command, ...rest] = argv;
  if (command === undefined) throw new ArgumentError('no command given');
  if (command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (!isCommand(command)) throw new ArgumentError(`unknown command "${command}"`);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS[command], allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    // node:util's messages name the option ("Unknown option '--nope'").
    throw new ArgumentError((err as Error).message.split('. ')[0]!, command);
  }
  const expected = ARGUMENTS[command];
  const p = parsed.positionals;
  if (p.length < expected.length) throw new ArgumentError(`missing ${expected.slice(p.length).join(' ')}`, command);
  if (p.length > expected.length) throw new ArgumentError(`unexpected argument "${p[expected.length]}"`, command);
  const v = parsed.values;
  switch (command) {
    case 'add':
      return {
        command,
        email: normaliseEmail(p[0]!, command),
        name: v.name === undefined ? '' : parseName(v.name as string, command),
        operator: v.operator === true,
        passwordStdin: v['password-stdin'] === true,
      };
    case 'grant':
      return { command, email: normaliseEmail(p[0]!, command), projectId: parseProjectId(p[1]!, command), role: parseRole(p[2]!, command) };
    case 'revoke':
      return { command, email: normaliseEmail(p[0]!, command), projectId: parseProjectId(p[1]!, command) };
    case 'remove':
      return { command, email: normaliseEmail(p[0]!, command) };
    case 'list':
      return { command, json: v.json === true };
    case 'reset-password':
      return { command, email: normaliseEmail(p[0]!, command), passwordStdin: v['password-stdin'] === true };
  }
}

export interface Membership {
  projectId: string;
  projectName: string;
  role: MemberRole;
}

export interface UserListing {
  id: string;
  email: string;
  name: string;
  operator: boolean;
  createdAt: string;
  memberships: Membership[];
}

/** One line per membership (a user without one still gets a line), columns aligned. */
export function renderUserTable(users: UserListing[]): string {
  const columns = ['email', 'name', 'operator', 'role', 'project id', 'project'];
  const rows: string[][] = [];
  for (const u of users) {
    const first = [u.email, u.name, u.operator ? 'yes' : 'no'];
    if (u.memberships.length === 0) rows.push([...first, '-', '', '']);
    u.memberships.forEach((m, i) => rows.push([...(i === 0 ? first : ['', '', '']), m.role, m.projectId, m.projectName]));
  }
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), `${users.length} user(s)`].join('\n');
}
