import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters, vitestRunOptions } from '../../../db/test/vitest-projects.ts';

// Pure tests (a fake socket, fake timers): the unit project only.
export default defineConfig({ test: { projects: vitestProjects().slice(0, 1), reporters: vitestReporters(), ...vitestRunOptions } });
