// `dnsward serve --config FILE`: run until SIGTERM/SIGINT, then stop cleanly and exit 0.
// SIGHUP re-reads the config and the lists (a refused one is logged; the old stays in force).
// A config `config check` refuses is refused here with the same message, before any socket.
import { parseArgs } from 'node:util';
import { startDnsward } from '../app.ts';
import { createLogger } from '../logger.ts';
import { loadServiceConfig } from './service-config.ts';

export const SERVE_USAGE = [
  'usage: dnsward serve [--config FILE]',
  '  Run the resolver and the HTTP service until SIGTERM or SIGINT, then stop cleanly.',
  '  SIGHUP re-reads the config and the lists and installs them without dropping a query.',
  '  FILE defaults to deploy/dnsward.yaml; relative paths in it resolve against its directory.',
  '  A config `dnsward config check` refuses is refused with the same message (exit 1).',
].join('\n');

export async function serveCommand(args: string[]): Promise<number | undefined> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c', default: 'deploy/dnsward.yaml' } } });
  const file = values.config as string;
  const config = await loadServiceConfig(file);
  const logger = createLogger(config.log.level, config.instance);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (bug): kept running'));
  // Reloads run the same checks as the start (and as `config check`), in this process's environment.
  const app = await startDnsward(config, { logger, source: file, loadConfig: () => loadServiceConfig(file) });
  process.on('SIGHUP', () => {
    logger.info({ component: 'app', signal: 'SIGHUP' }, 'reloading config and lists');
    void app.reload('SIGHUP');
  });
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
