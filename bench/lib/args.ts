// Command-line options for the bench scripts: node:util's parseArgs, with a typo or a missing value
// reported in one line (and exit status 2) instead of a stack trace. With `usage`, --help (-h)
// prints it and exits 0, for scripts that have no help option of their own.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseOptions<const O extends NonNullable<ParseArgsConfig['options']>>(script: string, options: O, usage?: string): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  if (usage !== undefined && process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    optionError(script, err instanceof Error ? err.message : String(err));
  }
}

/** A value the script cannot use, reported as parseOptions reports a typo: one line and exit status 2. */
export function optionError(script: string, message: string): never {
  process.stderr.write(`${script}: ${message}\n${script}: see --help for the options\n`);
  process.exit(2);
}
