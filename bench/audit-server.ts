// dnsward with the block log as createAuditSink builds it, for bench/audit-cost.ts: the same
// startDnsward as `dnsward serve`, with the audit sink passed in explicitly (so the bench
// measures the file writer whatever src/app.ts builds by default). SIGTERM: stop, print the
// writer's counters as one JSON line, exit 0.
//   node <bin/dnsward's Node flags> bench/audit-server.ts CONFIG
import { createAuditSink } from '../src/audit/index.ts';
import { startDnsward } from '../src/app.ts';
import { loadConfigFile } from '../src/config/load.ts';
import { createLogger } from '../src/logger.ts';

const config = await loadConfigFile(process.argv[2] ?? 'dnsward.yaml');
// BENCH_AUDIT_WRITER=thread|inline: overrides audit.worker_thread (default: the config's, auto).
if (process.env.BENCH_AUDIT_WRITER === 'thread') config.audit.worker_thread = true;
if (process.env.BENCH_AUDIT_WRITER === 'inline') config.audit.worker_thread = false;
const logger = createLogger(config.log.level, config.instance);
// BENCH_AUDIT_SINK=null: decisions go nowhere (to tell the writer's cost from the log path's own).
const sink =
  process.env.BENCH_AUDIT_SINK === 'null'
    ? { record: (): void => undefined, flush: async (): Promise<void> => undefined, close: async (): Promise<void> => undefined, stats: () => ({ written: 0, dropped: 0 }) }
    : await createAuditSink(config, logger);
const app = await startDnsward(config, { logger, decisions: sink });
console.log(JSON.stringify({ ready: true, port: app.dns[0]?.port }));
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void app.stop().then(() => {
    console.log(JSON.stringify({ audit: sink.stats() }));
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
