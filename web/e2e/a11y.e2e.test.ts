// Accessibility: axe-core audits each page (sign-in, projects, a project, the outbox as an
// operator) at desktop and phone sizes, and none may have a serious or critical violation
// (contrast to WCAG AA, a name for every control, and the rest of axe's rules).
import axe from 'axe-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from './stack';
import { makeWorld, pageNames, sizes, visit, type World } from './pages';

let stack: Stack;
let world: World;

beforeAll(async () => {
  stack = await startStack();
  world = await makeWorld(stack);
});

afterAll(async () => {
  await stack?.stop();
});

type Violation = { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] };

/** axe-core's violations on the page as it is now. */
async function audit(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ content: axe.source });
  return page.evaluate(async () => {
    const run = (window as unknown as { axe: typeof axe }).axe.run;
    const results = await run(document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target as unknown[], failureSummary: n.failureSummary })) }));
  });
}

const explain = (v: Violation) =>
  `${v.id} (${v.impact}, ${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'}): ${v.help}\n` +
  v.nodes
    .slice(0, 10)
    .map((n) => `    ${n.target.map(String).join(' ')}${n.failureSummary ? ` — ${n.failureSummary.split('\n').slice(1).join(' ').trim()}` : ''}`)
    .join('\n') +
  (v.nodes.length > 10 ? `\n    … and ${v.nodes.length - 10} more` : '');

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
