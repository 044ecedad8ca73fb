// Cross-check between config and the lists that exist: every list a segment names must be loadable.
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { Config } from './schema.ts';

export function checkSegmentLists(config: Config, known: ReadonlySet<string>, source = 'config'): void {
  const problems: string[] = [];
  config.segments.forEach((segment, i) => {
    segment.lists.forEach((name, j) => {
      if (!known.has(name)) {
        const choices = [...known].sort().join(', ') || '(none found)';
        problems.push(`${source}: segments[${i}].lists[${j}]: "${name}" is not a known list; use one of: ${choices}`);
      }
    });
  });
  if (problems.length > 0) throw new DnswardError(ErrorCodes.LIST_UNKNOWN, problems.join('\n'));
}
