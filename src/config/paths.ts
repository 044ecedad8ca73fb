// Config keys that name a file or a directory. configPath() marks a key as one; after
// validation, resolveConfigPaths() makes every relative value of a marked key absolute
// against the directory of the config file, so `dnsward config check /etc/dnsward/x.yaml`
// means the same from any working directory. Defaults count as written in the file: a
// config that spells out a default behaves like one that leaves it out.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { unwrapSchema as unwrap } from './schema-walk.ts';

/** Schemas marked by configPath(); clones made by .describe()/.meta() inherit the mark. */
const pathMarks = z.registry<{ path: true }>();

/** A file or directory path; relative values resolve against the config file's directory. */
export function configPath(): z.ZodString {
  const schema = z.string().min(1, 'give a file or directory path (relative paths start at the config file)');
  pathMarks.add(schema, { path: true });
  return schema;
}

function isPath(schema: z.core.$ZodType): boolean {
  return pathMarks.get(schema) !== undefined;
}

/** Every path key of `schema`, e.g. "lists.dir", "lists.sources[].file". */
export function listConfigPaths(schema: z.core.$ZodType, prefix = ''): string[] {
  const inner = unwrap(schema);
  if (isPath(inner)) return [prefix];
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.core.$ZodType>).flatMap(([key, child]) => listConfigPaths(child, prefix === '' ? key : `${prefix}.${key}`));
  }
  if (inner instanceof z.ZodArray) return listConfigPaths(inner.element as z.core.$ZodType, `${prefix}[]`);
  return [];
}

/**
 * A copy of `value` (parsed by `schema`) with every relative path made absolute against
 * `baseDir`. Nothing else changes; the input is not modified.
 */
export function resolveConfigPaths<T>(schema: z.core.$ZodType, value: T, baseDir: string): T {
  return resolveIn(schema, value, baseDir) as T;
}

function resolveIn(schema: z.core.$ZodType, value: unknown, baseDir: string): unknown {
  const inner = unwrap(schema);
  if (isPath(inner)) return typeof value === 'string' && !isAbsolute(value) ? resolve(baseDir, value) : value;
  if (inner instanceof z.ZodObject && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const shape = inner.shape as Record<string, z.core.$ZodType>;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childSchema = shape[key];
      out[key] = childSchema === undefined ? child : resolveIn(childSchema, child, baseDir);
    }
    return out;
  }
  if (inner instanceof z.ZodArray && Array.isArray(value)) return value.map((item: unknown) => resolveIn(inner.element as z.core.$ZodType, item, baseDir));
  return value;
}
