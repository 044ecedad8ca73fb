// Decision sink that writes one pino line per block/log decision.
// Pseudonymised segments never get the client address in the log line.
import type { Logger } from 'pino';
import type { Decision, DecisionSink } from './types.ts';

export function createLogDecisionSink(logger: Logger): DecisionSink {
  const log = logger.child({ component: 'decision' });
  let closed = false;
  return {
    record(d: Decision): void {
      if (closed) return;
      log.info(
        {
          segment: d.segment,
          client: d.pseudonymize ? undefined : d.client,
          qname: d.qname,
          qtype: d.qtype,
          action: d.action,
          list: d.list,
          rule: d.rule,
          list_version: d.listVersion,
          response: d.response,
          transport: d.transport,
        },
        d.action === 'blocked' ? 'query blocked' : 'query logged',
      );
    },
    async flush(): Promise<void> {
      log.flush?.();
    },
    async close(): Promise<void> {
      closed = true;
      log.flush?.();
    },
  };
}
