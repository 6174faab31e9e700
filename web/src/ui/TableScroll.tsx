// A table that may be wider than the screen scrolls sideways inside this box, never the
// page; the box is a named region in the tab order, so a keyboard can scroll it too. A
// windowed table (`scrollRef`) also scrolls down inside it, at most a screenful high,
// with its head kept in view: the box is what its virtualizer watches.
import type { ReactNode, RefObject } from 'react';

export function TableScroll({ label, children, scrollRef }: { label: string; children: ReactNode; scrollRef?: RefObject<HTMLDivElement | null> }) {
  return (
    <div className={scrollRef ? 'table-scroll table-window' : 'table-scroll'} role="region" aria-label={label} tabIndex={0} ref={scrollRef}>
      {children}
    </div>
  );
}
