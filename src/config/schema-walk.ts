// Reading the shape of a zod schema: what a parsed value looks like under the wrappers
// (optional, default, transform), and which keys an object at a config path accepts.
import { z } from 'zod';

/** The schema whose shape a parsed value has, through optional/default/pipe wrappers. */
export function unwrapSchema(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodReadonly) {
      current = current.unwrap() as z.core.$ZodType;
    } else if (current instanceof z.ZodPipe) {
      // A transform after the input keeps the input's shape; a pipe into a schema has the output's.
      current = (current.out instanceof z.ZodTransform ? current.in : current.out) as z.core.$ZodType;
    } else {
      return current;
    }
  }
}

/** The keys the object at `path` accepts (array indexes step into the items), or [] when none. */
export function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let current = unwrapSchema(schema);
  for (const part of path) {
    if (typeof part === 'number' && current instanceof z.ZodArray) current = unwrapSchema(current.element as z.core.$ZodType);
    else if (typeof part === 'string' && current instanceof z.ZodObject) {
      const child = (current.shape as Record<string, z.core.$ZodType | undefined>)[part];
      if (child === undefined) return [];
      current = unwrapSchema(child);
    } else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape as object) : [];
}
