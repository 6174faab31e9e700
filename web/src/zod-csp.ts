// Imported first by main.tsx, before any schema exists. The server's Content-Security-Policy
// forbids eval; zod, unless told it runs jitless, probes for eval with `new Function` when
// it builds its first object schema, and the browser reports that probe as a violation even
// though zod catches it. The client parses a few small messages: the interpreted path is enough.
import { z } from 'zod';

z.config({ jitless: true });
