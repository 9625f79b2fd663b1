/**
 * Must be the first import of the entry: zod's JIT probes `new Function` when a schema is
 * constructed (at module load of protocol/), which our Content-Security-Policy forbids and
 * which would log a CSP violation. Validation works the same without the JIT.
 */
import { z } from 'zod';

z.config({ jitless: true });
