// `dnsward config reference` and `dnsward config schema`: the reference config (every key,
// its default and meaning) and the JSON Schema, generated from the schema that validates.
// `npm run gen:config` writes both into deploy/.
import { configJsonSchemaText, referenceYaml } from '../config/reference.ts';

export const CONFIG_REFERENCE_USAGE = [
  'usage: dnsward config reference',
  '  Print a config with every key, its default and its meaning (deploy/dnsward.reference.yaml).',
].join('\n');

export const CONFIG_SCHEMA_USAGE = [
  'usage: dnsward config schema',
  '  Print the JSON Schema of the config (deploy/dnsward.schema.json), for editors and CI pipelines.',
].join('\n');

export function configReferenceCommand(): Promise<number> {
  process.stdout.write(referenceYaml());
  return Promise.resolve(0);
}

export function configSchemaCommand(): Promise<number> {
  process.stdout.write(configJsonSchemaText());
  return Promise.resolve(0);
}
