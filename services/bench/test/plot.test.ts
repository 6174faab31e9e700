import { describe, expect, test } from 'vitest';
import { benchmarkPanels, compact, escapeXml, niceCeil, renderPanel, renderSvg, type Panel } from '../src/plot';
import { RESULTS } from './fixture';

describe('niceCeil', () => {
  test.each([
    [0, 1],
    [-3, 1],
    [Number.NaN, 1],
    [1, 1],
    [1.2, 2],
    [3, 5],
    [7, 10],
    [49, 50],
    [57, 100],
    [150, 200],
    [38_238, 50_000],
    [111_224, 200_000],
  ])('%d rounds up to %d', (n, expected) => {
    expect(niceCeil(n)).toBe(expected);
  });
});

describe('compact', () => {
  test.each([
    [0, '0'],
    [12, '12'],
    [0.25, '0.25'],
    [1500, '1.5k'],
    [12_500, '12.5k'],
    [37_500, '37.5k'],
    [50_000, '50k'],
  ])('%d is %s', (n, expected) => {
    expect(compact(n)).toBe(expected);
  });
});

describe('escapeXml', () => {
  test.each([
    ['a < b & c > d', 'a &lt; b &amp; c &gt; d'],
    ['"q"', '&quot;q&quot;'],
    ['100 clients × 1,000', '100 clients × 1,000'],
  ])('%s', (text, expected) => {
    expect(escapeXml(text)).toBe(expected);
  });
});

describe('renderPanel', () => {
  const panel = (values: (number | null)[], goal?: number): Panel => ({
    title: 'T',
    unit: 'ms',
    groups: [{ label: 'g', bars: values.map((value, i) => ({ label: `b${i}`, series: i % 2 ? 'baseline' : 'ours', value })), ...(goal === undefined ? {} : { goal }) }],
  });
  const heights = (svg: string) => [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));

  test.each<[(number | null)[], number | undefined, number[]]>([
    // The plot area is 300 - 36 - 46 = 218 px high; the axis tops at the nice ceiling.
    [[50, 25], undefined, [218, 109]],
    [[10, 100], undefined, [21.8, 218]],
    [[10, 20], 40, [43.6, 87.2]],
    [[0, 5], undefined, [0, 218]],
    [[null, 5], undefined, [218]],
  ])('bars %o with goal %s have heights %o', (values, goal, expected) => {
    expect(heights(renderPanel(panel(values, goal), 0, 0, 480, 300))).toEqual(expected);
  });

  test('a figure the design does not have is written as none', () => {
    expect(renderPanel(panel([null, 3]), 0, 0, 480, 300)).toContain('>none</text>');
  });

  test.each([
    // Plot area from y 36 to 254; the axis tops at the nice ceiling of the goal.
    [40, 79.6],
    [20, 36],
  ])('a goal of %d is a dashed line at y %d', (goal, y) => {
    expect(renderPanel(panel([10], goal), 0, 0, 480, 300)).toContain(`<line x1="56" y1="${y}" x2="466" y2="${y}" class="goal"/>`);
  });
});

describe('renderSvg', () => {
  const results = RESULTS;
  const svg = renderSvg('Benchmarks', benchmarkPanels(results));

  test('is one svg element with a viewBox for two rows of panels', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="960" height="948"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  test.each([
    ['ours', 6 + 6 + 1 + 2 + 1],
    ['baseline', 6 + 6 + 1 + 1 + 1],
    ['reference', 1],
  ])('draws the %s bars (%d)', (series, count) => {
    expect(svg.match(new RegExp(`class="${series}"`, 'g'))?.length).toBe(count);
  });

  test('every latency percentile of both designs is labelled', () => {
    for (const v of ['4', '9', '30', '40', '70', '90', '16', '49', '31', '67', '91', '12', '15', '80', '600']) expect(svg).toContain(`class="value">${v}</text>`);
  });

  test('a scenario the run skipped is drawn as none', () => {
    const partial = renderSvg('x', benchmarkPanels({ ...results, live: { ...results.live, scenarios: {} } }));
    expect(partial.match(/>none<\/text>/g)?.length).toBe(4 * 6 + 1);
  });
});
