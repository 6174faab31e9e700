import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The clone's root folder, wherever the test runs from. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
