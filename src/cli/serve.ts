// `dnsward serve --config FILE`: run until SIGTERM/SIGINT, then stop cleanly and exit 0.
import { parseArgs } from 'node:util';
import { startDnsward } from '../app.ts';
import { loadConfigFile } from '../config/load.ts';
import { createLogger } from '../logger.ts';

export async function serveCommand(args: string[]): Promise<number | undefined> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c', default: 'deploy/dnsward.yaml' } } });
  const config = await loadConfigFile(values.config as string);
  const logger = createLogger(config.log.level, config.instance);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (bug): kept running'));
  const app = await startDnsward(config, { logger });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ component: 'app', signal }, 'stopping');
    app.stop().then(
      () => {
        logger.info({ component: 'app' }, 'stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return undefined;
}
