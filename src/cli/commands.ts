// The sub-command table. A new command is one module plus one line here.
import { DnswardError, ErrorCodes } from '../errors.ts';
import { auditExportCommand } from './audit-export.ts';
import { auditVerifyCommand } from './audit-verify.ts';
import { configCheckCommand } from './config-check.ts';
import { listsBuildCommand, listsCheckCommand } from './lists.ts';
import { serveCommand } from './serve.ts';

/** A command returns an exit code (undefined = keep running, e.g. a server). */
export type Command = (args: string[]) => Promise<number | undefined>;

const commands: Record<string, { run: Command; summary: string }> = {
  serve: { run: serveCommand, summary: 'serve --config FILE          run the resolver and HTTP service' },
  'config check': { run: configCheckCommand, summary: 'config check FILE            validate a config file and exit' },
  'lists check': { run: listsCheckCommand, summary: 'lists check [DIR]            validate the maintained lists (file:line problems, exit 1)' },
  'lists build': { run: listsBuildCommand, summary: 'lists build --out DIR        write every list in every format for static hosting' },
  'audit verify': { run: auditVerifyCommand, summary: 'audit verify DIR|FILE        check the block log chain and checkpoints (exit 0 = intact)' },
  'audit export': { run: auditExportCommand, summary: 'audit export --from --to     block-log events of a time range as jsonl or csv' },
};

export function usage(): string {
  return ['usage: dnsward <command>', '', ...Object.values(commands).map((c) => `  dnsward ${c.summary}`)].join('\n');
}

export async function runCommand(argv: string[]): Promise<number | undefined> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(usage());
    return argv.length === 0 ? 2 : 0;
  }
  // Two-word commands ("config check") take precedence over one-word ones.
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const entry = commands[two] ?? commands[argv[0] ?? ''];
  if (!entry) throw new DnswardError(ErrorCodes.USAGE, `unknown command "${argv.join(' ')}"\n${usage()}`);
  return entry.run(argv.slice(commands[two] ? 2 : 1));
}
