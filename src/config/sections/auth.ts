// Config section `auth:`: bearer tokens for the private HTTP API.
import { z } from 'zod';

const TOKEN_EXAMPLE = '{ name: audit-team, role: auditor, token_env: DNSWARD_AUDIT_TOKEN }';

const tokenSchema = z
  .strictObject(
    {
    name: z.string().min(1).meta({ description: 'Who holds the token; logs show this name, never the token.', examples: ['audit-team'] }),
    role: z.enum(['auditor', 'admin']).meta({ description: 'auditor: read the block log; admin: everything an auditor may, and more.', examples: ['auditor'] }),
    token: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The token itself; prefer token_env, which keeps it out of the file.', examples: ['(a random string: openssl rand -hex 24)'] }),
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of the environment variable that holds the token (letters, digits and "_", e.g. DNSWARD_AUDIT_TOKEN), not the token itself')
      .optional()
      .meta({ description: 'The name of the environment variable holding the token.', examples: ['DNSWARD_AUDIT_TOKEN'] }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? `each token is a mapping, e.g. ${TOKEN_EXAMPLE}` : undefined) },
  )
  .refine((t) => (t.token === undefined) !== (t.token_env === undefined), {
    message: 'give exactly one of "token" or "token_env" (the name of an environment variable)',
  });

export const authSection = z
  .strictObject({
    tokens: z
      .array(tokenSchema, { error: (issue) => (issue.code === 'invalid_type' ? `a list of tokens, e.g. [${TOKEN_EXAMPLE}]` : undefined) })
      .default([])
      .describe('Bearer tokens for the auditor and admin API; none: that API answers 401.'),
  })
  .prefault({})
  .describe('Who may use the private HTTP API.');

export type TokenConfig = z.infer<typeof tokenSchema>;
