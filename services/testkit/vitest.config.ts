import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters, vitestRunOptions } from '../../db/test/vitest-projects.ts';

// The kit's own tests: pure ones (unit) and the Redis harness against a real redis-server
// (int); nothing here needs Postgres, so no pg project and no database setup.
const projects = vitestProjects().filter((p) => typeof p === 'object' && p.test?.name !== 'pg');

export default defineConfig({ test: { projects, reporters: vitestReporters(), ...vitestRunOptions } });
