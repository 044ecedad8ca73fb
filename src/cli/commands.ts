// The sub-command table. A new command is one module plus one line here.
// Each command's module is imported only when it runs: `serve` must not carry what
// `lists check` needs (the public-suffix list alone is megabytes of resident memory).
import { DnswardError, ErrorCodes } from '../errors.ts';

/** A command returns an exit code (undefined = keep running, e.g. a server). */
export type Command = (args: string[]) => Promise<number | undefined>;

const commands: Record<string, { load: () => Promise<Command>; summary: string }> = {
  serve: { load: async () => (await import('./serve.ts')).serveCommand, summary: 'serve --config FILE          run the resolver and HTTP service' },
  'config check': { load: async () => (await import('./config-check.ts')).configCheckCommand, summary: 'config check FILE            validate a config file and exit' },
  'config reference': { load: async () => (await import('./config-reference.ts')).configReferenceCommand, summary: 'config reference             print every config key with its default and meaning' },
  'config schema': { load: async () => (await import('./config-reference.ts')).configSchemaCommand, summary: 'config schema                print the JSON Schema of the config (for editors and CI)' },
  'lists check': { load: async () => (await import('./lists.ts')).listsCheckCommand, summary: 'lists check [DIR]            validate the maintained lists (file:line problems, exit 1)' },
  'lists build': { load: async () => (await import('./lists.ts')).listsBuildCommand, summary: 'lists build --out DIR        write every list in every format for static hosting' },
  'audit verify': { load: async () => (await import('./audit-verify.ts')).auditVerifyCommand, summary: 'audit verify DIR|FILE        check the block log chain and checkpoints (exit 0 = intact)' },
  'audit export': { load: async () => (await import('./audit-export.ts')).auditExportCommand, summary: 'audit export --from --to     block-log events of a time range as jsonl or csv' },
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
  const run = await entry.load();
  return run(argv.slice(commands[two] ? 2 : 1));
}
