import { defineConfig } from 'vitest/config';
import { vitestProjects, vitestReporters } from './test/vitest-projects.ts';

export default defineConfig({ test: { projects: vitestProjects(), reporters: vitestReporters() } });
