// The app's pages as the phone and accessibility tests visit them: a desktop and an
// iPhone 13 (chromium with that profile), an operator who owns a few projects, one of
// them with jobs, results, layers, matches and a second member, and the outbox those
// writes filled.
import { devices, type BrowserContextOptions, type Page } from 'playwright-core';
import { addUser, Session, signedInPage, type Stack, type User } from './stack';

const iPhone13 = devices['iPhone 13'];
/** playwright-core's iPhone 13 profile on chromium: a 390 x 844 screen (664 high below Safari's bars), touch, mobile viewport rules. */
export const phone: BrowserContextOptions = {
  viewport: iPhone13.viewport,
  screen: { width: 390, height: 844 },
  deviceScaleFactor: iPhone13.deviceScaleFactor,
  isMobile: iPhone13.isMobile,
  hasTouch: iPhone13.hasTouch,
  userAgent: iPhone13.userAgent,
};
export const desktop: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
export const sizes = { desktop, phone } as const;

export type PageName = 'sign-in' | 'projects' | 'project' | 'outbox';
export const pageNames: PageName[] = ['sign-in', 'projects', 'project', 'outbox'];

export interface World {
  stack: Stack;
  /** An operator (the Outbox link in the header: the widest header there is) who owns the projects. */
  operator: User;
  api: Session;
  projectIds: string[];
  /** The project with a filled page. */
  projectId: string;
}

export async function makeWorld(stack: Stack): Promise<World> {
  const operator = await addUser(stack, 'Opal', { operator: true });
  const member = await addUser(stack, 'Marguerite');
  const api = await Session.signIn(stack.base, operator);
  const projectIds: string[] = [];
  for (const [name, description] of [
    ['Quarterly supplier invoices', 'Scanned invoices from the northern warehouses, second quarter'],
    ['Contracts', ''],
    ['Site surveys with a rather long project name to wrap', 'Drone surveys and the parcel layers they come with'],
  ] as const) {
    projectIds.push((await api.post('projects', { name, description })).id);
  }
  const projectId = projectIds[0]!;
  const jobs: string[] = [];
  for (const documentName of ['invoice-2026-04-0001.pdf', 'invoice-2026-04-0002-with-a-long-file-name.pdf', 'delivery-note.pdf', 'broken-scan.pdf']) {
    jobs.push((await api.post('extraction-jobs', { projectId, documentName })).id);
  }
  await api.request('PATCH', `extraction-jobs/${jobs[0]}`, { status: 'completed', progress: 100, startedAt: new Date(Date.now() - 42_000).toISOString(), finishedAt: new Date().toISOString() });
  await api.request('PATCH', `extraction-jobs/${jobs[1]}`, { status: 'processing', progress: 40, startedAt: new Date().toISOString() });
  await api.request('PATCH', `extraction-jobs/${jobs[3]}`, { status: 'failed', progress: 10, error: 'the page could not be read' });
  const result = await api.post('extraction-results', { jobId: jobs[0], projectId, fieldName: 'total_amount', value: '1 284.50 EUR', confidence: 0.93, page: 1 });
  await api.post('extraction-results', { jobId: jobs[0], projectId, fieldName: 'supplier_vat_number', value: 'FR40303265045', confidence: 0.71, page: 2 });
  await api.post('data-layers', { projectId, name: 'Parcels', kind: 'vector', source: 'upload://parcels.geojson' });
  await api.post('supplier-matches', { projectId, resultId: result.id, supplierName: 'Acme Industrial Supplies', score: 0.88 });
  await api.invite(projectId, member.email, 'editor');
  await (await Session.signIn(stack.base, member)).accept(projectId);
  return { stack, operator, api, projectIds, projectId };
}

/**
 * A new browser context of the given size on one of the pages, its content there:
 * signed out for sign-in, signed in as the operator for the others.
 */
export async function visit(world: World, name: PageName, size: BrowserContextOptions, extra: BrowserContextOptions = {}): Promise<Page> {
  const { stack } = world;
  const options = { ...size, ...extra };
  if (name === 'sign-in') {
    const page = await (await stack.browser.newContext(options)).newPage();
    await page.goto(`${stack.base}/#/`);
    await page.waitForSelector('[data-testid=sign-in]');
    return settle(page);
  }
  const page = await signedInPage(stack, world.operator, options);
  if (name === 'projects') {
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=project]').length >= n, world.projectIds.length);
  } else if (name === 'project') {
    await page.goto(`${stack.base}/#/projects/${world.projectId}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=job]').length >= 4 && document.querySelectorAll('[data-testid=member]').length >= 2);
  } else {
    await page.goto(`${stack.base}/#/outbox`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=outbox] tbody tr').length >= 10 && document.querySelector('[data-testid="stat-Head seq"]'));
  }
  await page.waitForSelector(name === 'outbox' ? '[data-testid=connection]' : '[data-testid=connection][data-status=live]', { timeout: 15_000 });
  return settle(page);
}

/** Rows fade in from a tint: measured or audited mid-animation, they are neither. */
async function settle(page: Page): Promise<Page> {
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))));
  return page;
}
