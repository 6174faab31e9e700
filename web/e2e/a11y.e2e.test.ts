// Accessibility: axe-core audits each page (sign-in, projects, a project, the outbox as an
// operator) at desktop and phone sizes, and none may have a serious or critical violation
// (contrast to WCAG AA, a name for every control, and the rest of axe's rules).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from './stack';
import { makeWorld, pageNames, sizes, visit, type World } from './pages';
import { audit, explain } from './axe';

let stack: Stack;
let world: World;

beforeAll(async () => {
  stack = await startStack();
  world = await makeWorld(stack);
});

afterAll(async () => {
  await stack?.stop();
});

for (const [size, options] of Object.entries(sizes)) {
  for (const name of pageNames) {
    test(`${name} at ${size} size: no serious or critical axe violation`, async () => {
      // The app's Content-Security-Policy allows no inline script: axe comes in as one.
      const page = await visit(world, name, options, { bypassCSP: true });
      const violations = await audit(page);
      const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      if (violations.length > 0) console.log(`axe, ${name} at ${size} size:\n${violations.map((v) => `  ${explain(v)}`).join('\n')}`);
      expect(grave.map(explain), `serious or critical axe violations on ${name} at ${size} size`).toEqual([]);
      await page.context().close();
    });
  }
}
