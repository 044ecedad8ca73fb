// Config section `lists:` (owned by the lists feature). Keep keys snake_case and defaulted.
import { z } from 'zod';

export const listsSection = z
  .strictObject({
    /** Directory holding the maintained lists shipped with dnsward. */
    dir: z.string().min(1).default('lists'),
  })
  .default({ dir: 'lists' });

export type ListsConfig = z.infer<typeof listsSection>;
