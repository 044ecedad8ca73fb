// `dnsward audit export --from T --to T [--segment S] [--format csv|jsonl]`: the block log
// of a time range, for handing to an auditor offline. Reads audit.dir (from --config, or --dir).
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CSV_HEADER, csvRow } from '../audit/csv.ts';
import { type AuditFilter, FileAuditReader, normalizeQname, parseTime } from '../audit/reader.ts';
import { endQuietlyOnEpipe, terminalSafe } from '../audit/terminal.ts';
import { loadConfigFile } from '../config/load.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';

export const USAGE =
  'usage: dnsward audit export --from TIME --to TIME [--segment NAME] [--action blocked|logged] [--list NAME] [--qname SUFFIX] [--client C]\n' +
  '                            [--format csv|jsonl] [--output FILE] [--config FILE | --dir DIR]\n' +
  '  TIME: ISO 8601 (2026-11-28 or 2026-11-28T10:00:00Z) or epoch ms; --from inclusive, --to exclusive';

function usage(message: string): DnswardError {
  return new DnswardError(ErrorCodes.USAGE, `audit export: ${message}\n${USAGE}`);
}

export async function auditExportCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        segment: { type: 'string' },
        action: { type: 'string' },
        list: { type: 'string' },
        qname: { type: 'string' },
        client: { type: 'string' },
        format: { type: 'string', default: 'jsonl' },
        output: { type: 'string', short: 'o' },
        config: { type: 'string', short: 'c' },
        dir: { type: 'string' },
      },
    }));
  } catch (error) {
    throw usage((error as Error).message);
  }
  if (values.from === undefined || values.to === undefined) throw usage('--from and --to are required');
  const from = parseTime(values.from);
  const to = parseTime(values.to);
  if (from === undefined) throw usage(`--from "${values.from}" is not a time`);
  if (to === undefined) throw usage(`--to "${values.to}" is not a time`);
  if (from >= to) throw usage('--from must be before --to');
  if (values.format !== 'csv' && values.format !== 'jsonl') throw usage(`--format "${values.format}" is not valid; use csv or jsonl`);
  if (values.action !== undefined && values.action !== 'blocked' && values.action !== 'logged') throw usage(`--action "${values.action}" is not valid; use blocked or logged`);
  if (values.dir !== undefined && values.config !== undefined) throw usage('give --config or --dir, not both');
  const dir = values.dir ?? (await loadConfigFile(values.config ?? 'deploy/dnsward.yaml')).audit.dir;
  // A mistyped directory must not look like a quiet day.
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new DnswardError(ErrorCodes.USAGE, `audit export: ${dir} is not a directory; pass audit.dir with --dir, or the config whose audit.dir it is with --config`);

  const filter: AuditFilter = { from, to };
  if (values.segment !== undefined) filter.segment = values.segment;
  if (values.action !== undefined) filter.action = values.action as 'blocked' | 'logged';
  if (values.list !== undefined) filter.list = values.list;
  if (values.client !== undefined) filter.client = values.client;
  if (values.qname !== undefined) filter.qname = normalizeQname(values.qname);

  const toStdout = values.output === undefined;
  const out: Writable = toStdout ? process.stdout : createWriteStream(values.output as string, { flags: 'wx', mode: 0o640 });
  // `audit export ... | head`: the reader going away ends the export quietly.
  const readerGone = toStdout ? endQuietlyOnEpipe(process.stdout) : () => false;
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const csv = values.format === 'csv';
  let count = 0;
  try {
    if (csv) await write(CSV_HEADER);
    for await (const event of new FileAuditReader(dir).stream(filter)) {
      if (readerGone()) break;
      await write(csv ? csvRow(event) : JSON.stringify(event) + '\n');
      count++;
    }
  } catch (error) {
    if (readerGone() || (error as NodeJS.ErrnoException).code === 'EPIPE') return 0;
    throw error;
  }
  if (readerGone()) return 0;
  if (!toStdout) {
    out.end();
    await once(out, 'finish');
  }
  console.error(terminalSafe(`exported ${count} event(s) from ${dir} (${from} .. ${to})`));
  return 0;
}
