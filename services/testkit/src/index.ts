export { repoRoot } from './root';
