// The errors of a component's mutations, one line each: no failed write goes unsaid.
import type { ApiError } from '../api';

export function Errors({ of, describe = (e) => e.message }: { of: { error: Error | null }[]; describe?: (e: ApiError) => string }) {
  const messages = [...new Set(of.flatMap((m) => (m.error ? [describe(m.error as ApiError)] : [])))];
  return (
    <>
      {messages.map((m) => (
        <p key={m} className="error" role="alert">
          {m}
        </p>
      ))}
    </>
  );
}
