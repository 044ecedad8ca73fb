// The sub-command table. A new command is one module plus one entry here.
// Each command's module is imported only when it runs: `serve` must not carry what
// `lists check` needs (the public-suffix list alone is megabytes of resident memory).
// Every command answers --help; a usage mistake is a DNSWARD_ERR_USAGE line, never a stack trace.
import { readFile } from 'node:fs/promises';
import { closestKey } from '../config/load.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';

/** A command returns an exit code (undefined = keep running, e.g. a server). */
export type Command = (args: string[]) => Promise<number | undefined>;

interface Loaded {
  run: Command;
  /** The full --help text. */
  usage: string;
}

const commands: Record<string, { summary: string; load: () => Promise<Loaded> }> = {
  serve: {
    summary: 'serve --config FILE          run the resolver and HTTP service',
    load: async () => {
      const m = await import('./serve.ts');
      return { run: m.serveCommand, usage: m.SERVE_USAGE };
    },
  },
  'config check': {
    summary: 'config check FILE            validate a config file as serve would, and exit',
    load: async () => {
      const m = await import('./config-check.ts');
      return { run: m.configCheckCommand, usage: m.CONFIG_CHECK_USAGE };
    },
  },
  'config reference': {
    summary: 'config reference             print every config key with its default and meaning',
    load: async () => {
      const m = await import('./config-reference.ts');
      return { run: m.configReferenceCommand, usage: m.CONFIG_REFERENCE_USAGE };
    },
  },
  'config schema': {
    summary: 'config schema                print the JSON Schema of the config (for editors and CI)',
    load: async () => {
      const m = await import('./config-reference.ts');
      return { run: m.configSchemaCommand, usage: m.CONFIG_SCHEMA_USAGE };
    },
  },
  'lists check': {
    summary: 'lists check [DIR]            validate the maintained lists (file:line problems, exit 1)',
    load: async () => {
      const m = await import('./lists.ts');
      return { run: m.listsCheckCommand, usage: m.LISTS_CHECK_USAGE };
    },
  },
  'lists build': {
    summary: 'lists build --out DIR        write every list in every format for static hosting',
    load: async () => {
      const m = await import('./lists.ts');
      return { run: m.listsBuildCommand, usage: m.LISTS_BUILD_USAGE };
    },
  },
  'lists diff': { summary: 'lists diff A [B]              compare two versions of a list (added, removed, evidence)', load: async () => ({ run: (await import('./lists.ts')).listsDiffCommand, usage: (await import('./lists.ts')).LISTS_DIFF_USAGE }) },
  'audit verify': {
    summary: 'audit verify DIR|FILE...     check the block log, change log and witness chains (exit 0 = intact)',
    load: async () => {
      const m = await import('./audit-verify.ts');
      return { run: m.auditVerifyCommand, usage: m.USAGE };
    },
  },
  'audit export': {
    summary: 'audit export --from --to     block-log events of a time range as jsonl or csv',
    load: async () => {
      const m = await import('./audit-export.ts');
      return { run: m.auditExportCommand, usage: m.USAGE };
    },
  },
};

/** Every command's summary, or only those of `group` (`dnsward audit --help`). */
export function usage(group?: string): string {
  const listed = group === undefined ? Object.keys(commands) : groupCommands(group);
  const what = group === undefined ? '<command>' : `${group} <command>`;
  return [
    `usage: dnsward ${what} [options]`,
    '',
    ...listed.map((name) => `  dnsward ${commands[name]!.summary}`),
    '',
    `  dnsward ${what} --help     options of one command`,
    ...(group === undefined ? ['  dnsward --version            the version'] : []),
  ].join('\n');
}

/** The commands of a group ("audit" -> "audit verify", "audit export"); none for a name that is no group. */
function groupCommands(group: string): string[] {
  return Object.keys(commands).filter((name) => name.startsWith(`${group} `));
}

/** The command an argv names, with its arguments; undefined when it names none. */
export function findCommand(argv: readonly string[]): { name: string; args: string[] } | undefined {
  const two = `${argv[0] ?? ''} ${argv[1] ?? ''}`;
  if (commands[two]) return { name: two, args: argv.slice(2) };
  const one = argv[0] ?? '';
  if (commands[one]) return { name: one, args: argv.slice(1) };
  return undefined;
}

/** Why argv names no command, and what it probably meant. */
export function unknownCommandMessage(argv: readonly string[]): string {
  const names = Object.keys(commands);
  const first = argv[0] ?? '';
  const members = groupCommands(first);
  if (members.length > 0) {
    const sub = argv[1];
    const near = sub === undefined ? undefined : closestKey(sub, members.map((n) => n.slice(first.length + 1)));
    const hint = near !== undefined ? `did you mean "dnsward ${first} ${near}"?` : `use one of: ${members.map((n) => `dnsward ${n}`).join(', ')}`;
    return sub === undefined ? `"${first}" needs a sub-command; ${hint}` : `unknown command "${first} ${sub}"; ${hint}`;
  }
  const near = closestKey(first, [...new Set(names.map((n) => n.split(' ')[0] as string))]);
  return `unknown command "${first}"${near !== undefined ? `; did you mean "dnsward ${near}"?` : ''}`;
}

/** The group argv asks the commands of (`dnsward audit --help`, `dnsward help audit`), if any. */
function helpGroup(argv: readonly string[], askedByHelp: boolean): string | undefined {
  const [group, next] = argv;
  if (group === undefined || groupCommands(group).length === 0) return undefined;
  return (askedByHelp && argv.length === 1) || next === '--help' || next === '-h' ? group : undefined;
}

/** True when --help or -h comes before any "--" (after which everything is an operand). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function runCommand(argv: string[]): Promise<number | undefined> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || (first === 'help' && argv.length === 1)) {
    console.log(usage());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    console.log(`dnsward ${await version()}`);
    return 0;
  }
  // `dnsward help config check` is `dnsward config check --help`.
  const helpFor = first === 'help' ? argv.slice(1) : undefined;
  const found = findCommand(helpFor ?? argv);
  const group = found ? undefined : helpGroup(helpFor ?? argv, helpFor !== undefined);
  if (group !== undefined) {
    console.log(usage(group));
    return 0;
  }
  if (!found) throw new DnswardError(ErrorCodes.USAGE, `${unknownCommandMessage(helpFor ?? argv)}\n${usage()}`);
  const command = await commands[found.name]!.load();
  if (helpFor !== undefined || wantsHelp(found.args)) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(found.args);
  } catch (error) {
    throw usageError(error, found.name, command.usage) ?? error;
  }
}

/** node:util parseArgs errors (unknown option, missing value, stray operand) as usage errors. */
function usageError(error: unknown, name: string, commandUsage: string): DnswardError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  // Node's text goes on about "--" operands; its first sentence says what is wrong.
  const message = (error as Error).message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? '';
  const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  const options = [...new Set(commandUsage.match(/--[a-z][a-z-]*/g) ?? [])];
  const near = unknown === undefined ? undefined : closestKey(unknown, options);
  return new DnswardError(ErrorCodes.USAGE, `${name}: ${message}${near !== undefined ? `; did you mean ${near}?` : ''}\n${commandUsage}`, { cause: error });
}
