// The entry point: one QueryClient for the app, told when the session is gone, and the
// shell, which decides between the sign-in page and the signed-in pages.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { onSignedOut, retryable } from './api';
import { openPersistStore } from './persist';
import { signedOut } from './session';
import { App } from './ui/App';
import './ui/styles.css';

const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: retryable } } });

// A 401 from any request means the session is gone (expired, or signed out in another
// tab): back to the sign-in page, with nothing of the session left in the cache.
onSignedOut(() => signedOut(queryClient));

// The lists' store opened while the session is asked for: the restore that the lists wait
// for then reads an open database instead of opening one first.
openPersistStore();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
