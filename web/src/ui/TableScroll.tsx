// A table that may be wider than the screen scrolls sideways inside this box, never the
// page; the box is a named region in the tab order, so a keyboard can scroll it too.
import type { ReactNode } from 'react';

export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
