import type { AdminEnv } from '../../admin-auth.js';
import { operationsFor } from '../../operation.js';

/** Declares an admin operation (its handler sees the authenticated `principal`). */
export const adminOperation = operationsFor<AdminEnv>();
