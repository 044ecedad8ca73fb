// Command-line options for the bench scripts: node:util's parseArgs, with a typo or a missing value
// reported in one line (and exit status 2) instead of a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseOptions<const O extends NonNullable<ParseArgsConfig['options']>>(script: string, options: O): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    process.stderr.write(`${script}: ${err instanceof Error ? err.message : String(err)}\n${script}: see --help for the options\n`);
    process.exit(2);
  }
}
