// `dnsward config reference` and `dnsward config schema`: the reference config (every key,
// its default and meaning) and the JSON Schema, generated from the schema that validates.
// `npm run gen:config` writes both into deploy/.
import { configJsonSchemaText, referenceYaml } from '../config/reference.ts';

export function configReferenceCommand(): Promise<number> {
  process.stdout.write(referenceYaml());
  return Promise.resolve(0);
}

export function configSchemaCommand(): Promise<number> {
  process.stdout.write(configJsonSchemaText());
  return Promise.resolve(0);
}
