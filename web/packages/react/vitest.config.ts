import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters, vitestRunOptions } from '../../../db/test/vitest-projects.ts';

// unit: the hooks against a fake socket; pg: the hooks against a real API and gateway.
export default defineConfig({ test: { projects: vitestProjects(), reporters: vitestReporters(), ...vitestRunOptions } });
