// One write on the wire: its request by the REST convention, an answer or a timeout, and
// the answer read into what the queue's machine takes. The queue sends one at a time.
import type { Timers } from '../types.js';
import type { WriteEntry } from './entry.js';
import { answerOf, noAnswer, type Answer } from './policy.js';
import { writeRequest, type RestConvention } from './rest.js';

export interface Transport {
  rest: RestConvention;
  baseUrl: string;
  fetch: typeof globalThis.fetch | undefined;
  timers: Timers;
  now: () => number;
  /** A request with no answer by then is given up and retried like a network error. */
  timeoutMs: number;
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Sends the write and reads its answer; `controller` lets the queue abandon it (its answer is then nobody's). */
export async function transmit(entry: WriteEntry, controller: AbortController, t: Transport): Promise<Answer> {
  const { method, url, init } = writeRequest(entry, t.rest, t.baseUrl);
  const label = `${method} ${url}`;
  const timer = t.timers.setTimeout(() => controller.abort(new TimeoutError(`no answer within ${t.timeoutMs} ms`)), t.timeoutMs);
  try {
    const fetch = t.fetch ?? globalThis.fetch;
    const res = await fetch.call(globalThis, url, { ...init, signal: controller.signal });
    // An answer whose body is cut off still says what happened: its status and headers.
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return answerOf(entry, { status: res.status, headers: res.headers, body }, t.rest, label, t.now());
  } catch (err) {
    const reason = controller.signal.aborted ? controller.signal.reason : err;
    return noAnswer(label, reason instanceof Error ? reason.message : String(reason));
  } finally {
    t.timers.clearTimeout(timer);
  }
}
