// Who was signed in, remembered on this browser so that a page opened offline (the
// service worker serves the app) can show that user's persisted lists and queued writes
// instead of "could not reach the server". Only a network failure falls back to it: any
// answer from the server (a 401 included) is the truth, and sign-out forgets it.
import type { Me } from '@realtime/api/types';

const KEY = 'realtime-me';

export function rememberMe(me: Me | null): Me | null {
  try {
    if (me) localStorage.setItem(KEY, JSON.stringify(me));
    else localStorage.removeItem(KEY);
  } catch {
    // Storage refused (private mode, quota): the app works, only not offline.
  }
  return me;
}

export function rememberedMe(): Me | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Me) : null;
  } catch {
    return null;
  }
}

export const forgetMe = () => rememberMe(null);
