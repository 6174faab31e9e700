// The only page while signed out: email and password, the server's answer when it says
// no, and why the last session ended when the server ended it. A session cookie comes
// back with the user, and the app shows the projects.
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { signedIn, useEndedNotice } from '../session';
import { Errors } from './Errors';

export function SignInPage() {
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const ended = useEndedNotice();
  const signIn = useMutation({
    mutationFn: (v: { email: string; password: string }) => api.signIn(v.email, v.password),
    onSuccess: (me) => {
      window.location.hash = '#/';
      signedIn(qc, me);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate({ email: email.trim(), password });
  };
  return (
    <main className="sign-in">
      <form className="panel" onSubmit={submit} data-testid="sign-in">
        <div className="brand">
          <span className="logo">◆</span> Extraction <span className="muted">live</span>
        </div>
        <h1>Sign in</h1>
        {ended ? (
          <p className="notice" role="status" data-testid="session-ended">
            {ended}
          </p>
        ) : null}
        <label>
          Email
          <input type="email" name="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <Errors of={[signIn]} />
        <button type="submit" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
