// Password hashing with argon2id (@node-rs/argon2's defaults follow OWASP's advice):
// hashes are PHC strings that carry their own salt and cost, so a later change of cost
// still verifies old hashes.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** Shortest password accepted; long random ones are what the CLI generates. */
export const MIN_PASSWORD_LENGTH = 12;

export class PasswordError extends Error {}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new PasswordError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > 1024) throw new PasswordError('the password must be at most 1024 characters');
}

export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  return hash(password);
}

export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  // A user without a password (OpenID Connect only) never signs in with one; the dummy
  // verify keeps the answer as slow as a real one, so timing does not tell accounts apart.
  if (!stored) {
    await verify(DUMMY_HASH, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

/** A strong password to print once: 24 characters from 18 random bytes. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

// Any valid argon2id hash; made once per process.
const DUMMY_HASH = await hash(randomBytes(16).toString('hex'));
