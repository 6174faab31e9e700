import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters, vitestRunOptions } from '../db/test/vitest-projects.ts';

// The web app's tests are pure (no database): only the unit project.
export default defineConfig({ test: { projects: vitestProjects().slice(0, 1), reporters: vitestReporters(), ...vitestRunOptions } });
