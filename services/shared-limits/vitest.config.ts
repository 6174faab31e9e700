import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters, vitestRunOptions } from '../../db/test/vitest-projects.ts';

// Pure tests (unit) and the Redis shell against a real redis-server (int); nothing here needs
// Postgres, so no pg project and no database setup.
const projects = vitestProjects().filter((p) => typeof p === 'object' && p.test?.name !== 'pg');

export default defineConfig({ test: { projects, reporters: vitestReporters(), ...vitestRunOptions } });
