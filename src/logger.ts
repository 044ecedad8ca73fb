// pino JSON logs to stdout; each component takes a child logger ({ component: "..." }).
//
// A log line never repeats a key. pino appends every child's bindings to its parent's, and a
// call's own fields after those, so a child of a child (`resolver` → `upstream`), or a call
// that passes `component` to a child that has one, would write `"component"` twice; a
// JSON.parse keeps the last and hides it, other readers do not. Here the innermost value
// wins, once: a child's bindings replace its parent's (onChild, once per child, not per
// line), and a call whose fields repeat a binding is written through a child with them.
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

const { chindingsSym } = pino.symbols;

/** The binding keys of each logger that has any (its base or its child bindings). */
const boundKeys = new WeakMap<object, ReadonlySet<string>>();

export function createLogger(level: string, instance: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { instance },
    timestamp: pino.stdTimeFunctions.isoTime,
    onChild: uniqueBindings,
    hooks: { logMethod: withoutRepeatedKeys },
  };
  const logger = destination === undefined ? pino(options) : pino(options, destination);
  boundKeys.set(logger, new Set(['instance']));
  return logger;
}

/** Rewrites a new child's serialized bindings so each key appears once, with its last value. */
function uniqueBindings(child: Logger): void {
  const holder = child as unknown as Record<symbol, string>;
  const serialized = holder[chindingsSym] ?? '';
  // The bindings are `,"key":value` pairs; as an object, a repeated key keeps its last value.
  const bindings = JSON.parse(`{${serialized.slice(1)}}`) as Record<string, unknown>;
  const keys = Object.keys(bindings);
  boundKeys.set(child, new Set(keys));
  holder[chindingsSym] = keys.map((key) => `,${JSON.stringify(key)}:${JSON.stringify(bindings[key])}`).join('');
}

type LogMethod = (this: Logger, ...args: unknown[]) => void;

/** pino's logMethod hook: fields of the call that repeat a binding go through a child instead. */
function withoutRepeatedKeys(this: Logger, args: unknown[], method: LogMethod): void {
  const fields = args[0];
  const bound = boundKeys.get(this);
  if (bound !== undefined && fields !== null && typeof fields === 'object' && !(fields instanceof Error)) {
    let repeated: Record<string, unknown> | undefined;
    for (const key in fields) {
      if (bound.has(key)) (repeated ??= {})[key] = (fields as Record<string, unknown>)[key];
    }
    if (repeated !== undefined) {
      const rest: Record<string, unknown> = { ...(fields as Record<string, unknown>) };
      for (const key in repeated) delete rest[key];
      method.apply(this.child(repeated), [rest, ...args.slice(1)]);
      return;
    }
  }
  method.apply(this, args);
}
