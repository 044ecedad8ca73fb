// Config section `audit:` (owned by the block-log feature). Keep keys snake_case and defaulted.
import { z } from 'zod';

export const auditSection = z
  .strictObject({
    /** Directory for the append-only block log (JSON Lines). */
    dir: z.string().min(1).default('var/audit'),
  })
  .default({ dir: 'var/audit' });

export type AuditConfig = z.infer<typeof auditSection>;
