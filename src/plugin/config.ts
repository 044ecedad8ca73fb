// The config an embedder gives: a dnsward YAML file, or the same keys as an object (the
// sections it needs: segments, lists, audit, dns.allow, auth). Either way it goes through the
// checks `dnsward serve` and `dnsward config check` run, so an embedded engine refuses the
// same configs with the same messages, naming the key and the fix.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkConfigFile, checkConfigText } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';

/** The maintained lists that come with dnsward (tiktok, bytedance, doh-bypass): a value for lists.dir. */
export const LISTS_DIR: string = fileURLToPath(new URL('../../lists', import.meta.url));

/** The config as YAML keys (snake_case), e.g. `{ segments: [...], lists: { dir: 'lists' }, audit: { dir: 'var/audit' } }`. */
export type ConfigSections = Readonly<Record<string, unknown>>;

export interface ConfigSource {
  /** A dnsward YAML config file; relative paths in it resolve against its directory. */
  configFile?: string | undefined;
  /** Or the config as an object with the YAML keys; relative paths in it resolve against `baseDir`. */
  config?: ConfigSections | undefined;
  /** Where relative paths of `config` resolve (default: the current directory). */
  baseDir?: string | undefined;
}

export interface LoadedConfig {
  config: Config;
  /** Problems that do not stop the engine (each names the key). */
  warnings: string[];
  /** Names the config in messages: its file, or "config". */
  source: string;
}

/** Reads and checks the config of `source`; throws DnswardError (DNSWARD_ERR_CONFIG...) naming the key to fix. */
export async function loadEmbeddedConfig(source: ConfigSource, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  if ((source.configFile === undefined) === (source.config === undefined)) {
    throw new DnswardError(ErrorCodes.USAGE, 'give the config either as configFile (a dnsward YAML file) or as config (an object with the same keys), not both and not neither');
  }
  if (source.configFile !== undefined) {
    const checked = await checkConfigFile(source.configFile, { service: { env } });
    return { ...checked, source: source.configFile };
  }
  return { ...configFromSections(source.config as ConfigSections, 'config', source.baseDir, env), source: 'config' };
}

/** Checks an object config. JSON is YAML, so the object runs through the very parser a file does. */
export function configFromSections(sections: ConfigSections, source: string, baseDir: string | undefined, env: NodeJS.ProcessEnv = process.env): { config: Config; warnings: string[] } {
  if (sections === null || typeof sections !== 'object' || Array.isArray(sections)) {
    throw new DnswardError(ErrorCodes.CONFIG, `${source}: expected an object with the config's keys (segments, lists, audit, ...), got ${Array.isArray(sections) ? 'an array' : typeof sections}`);
  }
  let text: string;
  try {
    text = JSON.stringify(sections);
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `${source}: the config object cannot be read as plain data (${(error as Error).message}); give strings, numbers, booleans, arrays and objects only`, { cause: error });
  }
  return checkConfigText(text, source, { baseDir: resolve(baseDir ?? '.'), service: { env } });
}
