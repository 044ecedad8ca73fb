// What the HTTP routes need from the rest of the replica. Its own module so that app.ts
// (which registers the routes) and the route modules (which use these) do not import
// each other.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditReader } from '../audit/reader.ts';
import type { Config } from '../config/schema.ts';
import type { ListRegistry } from '../lists/registry.ts';

export interface HttpDeps {
  config: Config;
  logger: Logger;
  metrics: Registry;
  lists: ListRegistry;
  /** Reports whether the resolver is serving (listeners bound, lists loaded). */
  ready: () => boolean;
  /** Where the auditor API reads the block log; absent: the files in audit.dir. */
  audit?: AuditReader;
}
