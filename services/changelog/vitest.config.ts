import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters, vitestRunOptions } from '../../db/test/vitest-projects.ts';

export default defineConfig({ test: { projects: vitestProjects(), reporters: vitestReporters(), ...vitestRunOptions } });
