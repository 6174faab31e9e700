// axe-core in a page: its violations, and how to print them. The app's CSP allows no
// inline script, and axe comes in as one: audit pages of a context made with bypassCSP.
import axe from 'axe-core';
import type { Page } from 'playwright-core';

export type Violation = { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] };

/** axe-core's violations on the page as it is now. */
export async function audit(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ content: axe.source });
  return page.evaluate(async () => {
    const run = (window as unknown as { axe: typeof axe }).axe.run;
    const results = await run(document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target as unknown[], failureSummary: n.failureSummary })) }));
  });
}

export const explain = (v: Violation) =>
  `${v.id} (${v.impact}, ${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'}): ${v.help}\n` +
  v.nodes
    .slice(0, 10)
    .map((n) => `    ${n.target.map(String).join(' ')}${n.failureSummary ? ` — ${n.failureSummary.split('\n').slice(1).join(' ').trim()}` : ''}`)
    .join('\n') +
  (v.nodes.length > 10 ? `\n    … and ${v.nodes.length - 10} more` : '');


/** The serious and critical violations, explained (what the suites assert is empty). */
export async function graveViolations(page: Page, what: string): Promise<string[]> {
  const violations = await audit(page);
  if (violations.length > 0) console.log(`axe, ${what}:\n${violations.map((v) => `  ${explain(v)}`).join('\n')}`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map(explain);
}
