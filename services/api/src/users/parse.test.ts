import { describe, expect, test } from 'vitest';
import { ArgumentError, normaliseEmail, parseCommand, parseName, parseProjectId, parseRole, passwordLine, renderUserTable, type UserListing } from './parse';

const PROJECT = '0b6f3c2e-5d4a-4e8f-9a1b-2c3d4e5f6a7b';

describe('normaliseEmail', () => {
  test.each([
    ['someone@example.com', 'someone@example.com'],
    ['  Someone@Example.COM ', 'someone@example.com'],
    ['a+tag@sub.example.org', 'a+tag@sub.example.org'],
    ['root@localhost', 'root@localhost'],
  ])('%j -> %s', (text, email) => expect(normaliseEmail(text)).toBe(email));
  test.each(['', 'someone', '@example.com', 'someone@', 'some one@example.com', 'a@b@c', `${'x'.repeat(250)}@example.com`])('%j is refused', (text) => {
    expect(() => normaliseEmail(text)).toThrow(ArgumentError);
    expect(() => normaliseEmail(text)).toThrow(/<email>/);
  });
});

describe('parseRole', () => {
  test.each([
    ['viewer', 'viewer'],
    ['editor', 'editor'],
    ['owner', 'owner'],
    ['Owner', 'owner'],
  ])('%s', (text, role) => expect(parseRole(text)).toBe(role));
  test.each(['admin', '', 'viewers'])('%j is refused with the choices', (text) => {
    expect(() => parseRole(text)).toThrow(/<role> must be viewer, editor or owner/);
  });
});

describe('parseProjectId', () => {
  test.each([
    [PROJECT, PROJECT],
    [PROJECT.toUpperCase(), PROJECT],
  ])('%s', (text, id) => expect(parseProjectId(text)).toBe(id));
  test.each(['1', 'acme', `${PROJECT}0`, PROJECT.replaceAll('-', '')])('%j is refused', (text) => {
    expect(() => parseProjectId(text)).toThrow(/<projectId>: .* is not a project id/);
  });
});

describe('parseName', () => {
  test.each([
    ['Olivia Owner', 'Olivia Owner'],
    ['  padded  ', 'padded'],
  ])('%j', (text, name) => expect(parseName(text)).toBe(name));
  test.each([
    ['', /must not be empty/],
    ['   ', /must not be empty/],
    ['a\tb', /control characters/],
    ['x'.repeat(201), /at most 200/],
  ])('%j is refused', (text, message) => expect(() => parseName(text)).toThrow(message));
});

describe('passwordLine', () => {
  test.each([
    ['first line only', 'correct horse battery\nsecond line\n', 'correct horse battery'],
    ['trailing newline stripped', 'correct horse battery\n', 'correct horse battery'],
    ['CRLF stripped', 'correct horse battery\r\n', 'correct horse battery'],
    ['no newline at all', 'correct horse battery', 'correct horse battery'],
    ['inner spaces kept', '  spaced  out  \n', '  spaced  out  '],
  ])('%s', (_n, input, password) => expect(passwordLine(input)).toBe(password));
  test.each(['', '\n', '\r\n'])('%j holds no password', (input) => {
    expect(() => passwordLine(input)).toThrow(/--password-stdin: standard input held no password/);
  });
});

describe('parseCommand', () => {
  test.each([
    [['add', 'Someone@Example.com'], { command: 'add', email: 'someone@example.com', name: '', operator: false, passwordStdin: false }],
    [['add', 'a@b.c', '--name', ' Support Desk ', '--operator', '--password-stdin'], { command: 'add', email: 'a@b.c', name: 'Support Desk', operator: true, passwordStdin: true }],
    [['add', '--operator', 'a@b.c'], { command: 'add', email: 'a@b.c', name: '', operator: true, passwordStdin: false }],
    [['grant', 'a@b.c', PROJECT, 'editor'], { command: 'grant', email: 'a@b.c', projectId: PROJECT, role: 'editor' }],
    [['revoke', 'a@b.c', PROJECT], { command: 'revoke', email: 'a@b.c', projectId: PROJECT }],
    [['remove', 'A@B.C'], { command: 'remove', email: 'a@b.c' }],
    [['list'], { command: 'list', json: false }],
    [['list', '--json'], { command: 'list', json: true }],
    [['reset-password', 'a@b.c'], { command: 'reset-password', email: 'a@b.c', passwordStdin: false }],
    [['reset-password', 'a@b.c', '--password-stdin'], { command: 'reset-password', email: 'a@b.c', passwordStdin: true }],
    [['help'], { command: 'help' }],
    [['--help'], { command: 'help' }],
  ])('%j', (argv, expected) => expect(parseCommand(argv)).toEqual(expected));

  test.each([
    [[], /no command given/, undefined],
    [['frobnicate'], /unknown command "frobnicate"/, undefined],
    [['add'], /missing <email>/, 'add'],
    [['add', 'nope'], /<email>: "nope" is not an email address/, 'add'],
    [['add', 'a@b.c', '--name'], /--name/, 'add'],
    [['add', 'a@b.c', '--admin'], /--admin/, 'add'],
    [['add', 'a@b.c', 'extra'], /unexpected argument "extra"/, 'add'],
    [['grant', 'a@b.c', PROJECT], /missing <role>/, 'grant'],
    [['grant', 'a@b.c'], /missing <projectId> <role>/, 'grant'],
    [['grant', 'a@b.c', 'acme', 'owner'], /<projectId>: "acme"/, 'grant'],
    [['grant', 'a@b.c', PROJECT, 'admin'], /<role> must be/, 'grant'],
    [['revoke', 'a@b.c'], /missing <projectId>/, 'revoke'],
    [['remove'], /missing <email>/, 'remove'],
    [['list', '--yaml'], /--yaml/, 'list'],
    [['list', 'everyone'], /unexpected argument "everyone"/, 'list'],
    [['reset-password', 'a@b.c', '--password', 'x'], /--password/, 'reset-password'],
  ])('%j is refused', (argv, message, command) => {
    let err: unknown;
    try {
      parseCommand(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as Error).message).toMatch(message);
    expect((err as ArgumentError).command).toBe(command);
  });
});

test('renderUserTable: a line per membership, columns aligned, users without one too', () => {
  const users: UserListing[] = [
    { id: '1', email: 'operator@demo.example', name: 'Opal Operator', operator: true, createdAt: '', memberships: [] },
    {
      id: '2',
      email: 'owner@demo.example',
      name: 'Olivia Owner',
      operator: false,
      createdAt: '',
      memberships: [
        { projectId: PROJECT, projectName: 'Acme', role: 'owner' },
        { projectId: PROJECT.replace('0b', '1c'), projectName: 'Harbor', role: 'editor' },
      ],
    },
  ];
  const lines = renderUserTable(users).split('\n');
  expect(lines).toEqual([
    'email                  name           operator  role    project id                            project',
    '---------------------  -------------  --------  ------  ------------------------------------  -------',
    'operator@demo.example  Opal Operator  yes       -',
    `owner@demo.example     Olivia Owner   no        owner   ${PROJECT}  Acme`,
    `                                                editor  ${PROJECT.replace('0b', '1c')}  Harbor`,
    '2 user(s)',
  ]);
  expect(renderUserTable([]).split('\n').at(-1)).toBe('0 user(s)');
});
