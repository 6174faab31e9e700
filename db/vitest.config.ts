import { defineConfig } from 'vitest/config';
import { vitestProjects } from './test/vitest-projects.ts';

export default defineConfig({ test: { projects: vitestProjects() } });
