// What the HTTP routes need from the rest of the replica. Its own module so that app.ts
// (which registers the routes) and the route modules (which use these) do not import
// each other.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditReader } from '../audit/reader.ts';
import type { Config } from '../config/schema.ts';
import type { ChangeOutcome, ChangeRequest } from '../fleet/list-changes.ts';
import type { ChangeRecord } from '../fleet/org-entries.ts';
import type { FleetView } from '../fleet/view.ts';
import type { NetworkListRegistry } from '../lists/network-registry.ts';
import type { ListRegistry } from '../lists/registry.ts';
import type { HealthReport } from '../replica/health.ts';

/** The outcome of a reload (SIGHUP or POST /api/reload). */
export interface ReloadResult {
  ok: boolean;
  /** What happened, or why the new config was refused (the old policy stays in force then). */
  message: string;
  /** Changed keys that take effect only after a restart (listeners, upstreams, ...). */
  restartNeeded: string[];
  policyGeneration: number;
}

export interface HttpDeps {
  config: Config;
  logger: Logger;
  metrics: Registry;
  lists: ListRegistry;
  /** The network lists the feed publishes (absent: none). */
  networks?: NetworkListRegistry | undefined;
  health: { report(): HealthReport };
  /** Re-reads the config and the lists (absent: reload is not offered, e.g. in tests). */
  reload?: (requestedBy: string) => Promise<ReloadResult>;
  /** Where the auditor API reads the block log; absent: the files in audit.dir. */
  audit?: AuditReader;
  /** The fleet: organisation list entries, the admin change log, the fleet view (absent: those routes are not offered). */
  fleet?: FleetHttp;
}

export interface FleetHttp {
  /** Adds or removes an organisation entry (POST/DELETE /api/lists/<name>/entries). */
  change(request: ChangeRequest): Promise<ChangeOutcome>;
  /** The admin change log, oldest first (GET /api/audit/changes). */
  changes(): readonly ChangeRecord[];
  view(): Promise<FleetView>;
}
