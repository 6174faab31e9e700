// Where the client hears that reconnecting is worth trying now: the browser's `online`
// and `visibilitychange`. Absent (Node, a worker without a document), only the backoff.

/** An event target as the client uses one; the browser's window and document are. */
export interface EventTargetLike {
  addEventListener(type: string, fn: () => void): void;
  removeEventListener(type: string, fn: () => void): void;
}

/**
 * Where the client hears that reconnecting is worth trying now: the window's `online` and
 * the document's `visibilitychange`. Absent (Node, a worker without a document): only the
 * backoff.
 */
export interface ClientEnvironment {
  window?: EventTargetLike | null;
  document?: (EventTargetLike & { readonly visibilityState?: string }) | null;
}

export function browserEnvironment(): ClientEnvironment {
  const g = globalThis as { window?: EventTargetLike; document?: EventTargetLike & { visibilityState?: string } };
  const usable = (t: EventTargetLike | undefined) => (t && typeof t.addEventListener === 'function' ? t : null);
  return { window: usable(g.window), document: usable(g.document) as ClientEnvironment['document'] };
}

/** Listens for the moments worth a reconnect attempt; returns the way to stop listening. */
export function listenForWake(env: ClientEnvironment, wake: () => void): () => void {
  const onOnline = () => wake();
  const onVisibility = () => {
    if (env.document?.visibilityState !== 'hidden') wake();
  };
  env.window?.addEventListener('online', onOnline);
  env.document?.addEventListener('visibilitychange', onVisibility);
  return () => {
    env.window?.removeEventListener('online', onOnline);
    env.document?.removeEventListener('visibilitychange', onVisibility);
  };
}
