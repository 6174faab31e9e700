import { defineConfig } from 'vitest/config';
import { unitProject, vitestReporters, vitestRunOptions } from '../../db/test/vitest-projects.ts';

// The kit's own tests are pure: the unit project only.
export default defineConfig({ test: { projects: [unitProject()], reporters: vitestReporters(), ...vitestRunOptions } });
