// The one way `serve` and `config check` read a config: the schema, then the checks of a
// config about to be served (with this process's environment), warnings on stderr. Both
// commands therefore refuse the same configs with the same message.
import { checkConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

export async function loadServiceConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const { config, warnings } = await checkConfigFile(file, { service: { env } });
  for (const warning of warnings) console.error(warning);
  return config;
}
