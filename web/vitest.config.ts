import { defineConfig } from 'vitest/config';
import { unitProject, vitestReporters, vitestRunOptions } from '../db/test/vitest-projects.ts';

// The web app's tests are pure (no database): only the unit project, isolated per file
// (App.test.tsx mocks socket.io-client).
export default defineConfig({ test: { projects: [unitProject(undefined, 'unit', true)], reporters: vitestReporters(), ...vitestRunOptions } });
