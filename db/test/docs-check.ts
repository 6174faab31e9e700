// What keeps the docs honest, as pure functions over file text: the links a page makes,
// the variables the README's configuration table names and those the env.ts schemas
// declare, and a page's length. docs.test.ts applies them to the repository.

/** Fenced code blocks and HTML comments hold examples and notes, not links to follow. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/<!--[\s\S]*?-->/g, '');
}

/** Targets of the page's relative links (`[text](target)`), with any `#anchor` kept. */
export function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  for (const m of prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    out.push(target);
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a page offers: one per heading. */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+)$/gm)) out.add(headingAnchor(m[1]!));
  return out;
}

/**
 * The variables named in the first column of the table under `## <heading>`: every
 * back-quoted UPPER_CASE name, several to a row where one row covers a group.
 */
export function tableVariables(markdown: string, heading: string): string[] {
  const start = markdown.search(new RegExp(`^## ${heading}\\s*$`, 'm'));
  if (start < 0) return [];
  const rest = markdown.slice(start).split('\n').slice(1);
  const end = rest.findIndex((l) => /^## /.test(l));
  const out: string[] = [];
  for (const line of end < 0 ? rest : rest.slice(0, end)) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) out.push(m[1]!);
  }
  return out;
}

/**
 * The variables an env.ts schema declares: its UPPER_CASE object keys. A key whose schema
 * is `z.undefined(...)` only refuses a retired variable with the fix, and is no setting.
 */
export function envVariables(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:\s*(z\s*\.\s*undefined\b)?/gm)) {
    if (!m[2]) out.add(m[1]!);
  }
  return [...out];
}

/** Words as `wc -w` counts them. */
export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
