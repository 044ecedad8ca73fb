// What the deploy-*.test.ts files share: the Dockerfile as data (so tests run its lines as
// written, never a retyped copy), the deploy files' configs, and small helpers.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';

export interface Instruction {
  op: string;
  /** The arguments as written (continuation lines joined). */
  args: string;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions: comments dropped, continuation lines joined. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/s.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [from = '', , name] = args.split(/\s+/);
      stages.push({ from, name, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`Dockerfile: ${op} before FROM`);
    stage.instructions.push({ op: op.toUpperCase(), args: args.replace(/\s+/g, ' ').trim() });
  }
  return stages;
}

/** The instructions of one kind in a stage. */
export function instructions(stage: Stage, op: string): Instruction[] {
  return stage.instructions.filter((i) => i.op === op);
}

/** The one instruction of a kind (the last one wins, as in Docker). */
export function lastInstruction(stage: Stage, op: string): Instruction {
  const found = instructions(stage, op).at(-1);
  if (found === undefined) throw new Error(`Dockerfile: the stage from ${stage.from} has no ${op}`);
  return found;
}

/** An exec-form (JSON array) argument list, as ENTRYPOINT ["a", "b"]. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form list: ${args}`);
  return parsed;
}

export interface ImageSpec {
  final: Stage;
  workdir: string;
  user: { uid: number; gid: number };
  env: Record<string, string>;
  /** ENTRYPOINT followed by CMD: the command the container runs. */
  command: string[];
  healthcheck: { options: Record<string, string>; command: string[] };
  volumes: string[];
  expose: { port: number; protocol: string }[];
  /** Shell commands of the final stage's RUN lines, in order. */
  runs: string[];
  /** COPY lines of the final stage: sources (repository paths, or a stage's paths) and destination. */
  copies: { from: string | undefined; sources: string[]; dest: string }[];
}

export function imageSpec(text = readFileSync('Dockerfile', 'utf8')): ImageSpec {
  const stages = parseDockerfile(text);
  const final = stages.at(-1) as Stage;
  const [uid, gid] = lastInstruction(final, 'USER').args.split(':').map(Number);
  const health = /^((?:--\S+=\S+\s+)*)CMD\s+(.+)$/.exec(lastInstruction(final, 'HEALTHCHECK').args);
  if (!health) throw new Error('HEALTHCHECK must be "[--option=value ...] CMD [exec form]"');
  const options = Object.fromEntries(
    (health[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((o) => o.replace(/^--/, '').split('=') as [string, string]),
  );
  return {
    final,
    workdir: lastInstruction(final, 'WORKDIR').args,
    user: { uid: uid as number, gid: (gid ?? uid) as number },
    env: Object.fromEntries(instructions(final, 'ENV').map((i) => i.args.split('=') as [string, string])),
    command: [...execForm(lastInstruction(final, 'ENTRYPOINT').args), ...execForm(lastInstruction(final, 'CMD').args)],
    healthcheck: { options, command: execForm(health[2] as string) },
    volumes: instructions(final, 'VOLUME').flatMap((i) => execForm(i.args)),
    expose: instructions(final, 'EXPOSE').flatMap((i) =>
      i.args.split(' ').map((p) => {
        const [port, protocol = 'tcp'] = p.split('/');
        return { port: Number(port), protocol };
      }),
    ),
    runs: instructions(final, 'RUN').map((i) => i.args),
    copies: instructions(final, 'COPY').map((i) => {
      const parts = i.args.split(' ');
      const from = parts[0]?.startsWith('--from=') ? parts.shift()?.slice('--from='.length) : undefined;
      return { from, sources: parts.slice(0, -1), dest: parts.at(-1) as string };
    }),
  };
}

/** The value after a flag in a command line (`--config FILE`). */
export function flagValue(command: readonly string[], flag: string): string {
  const index = command.indexOf(flag);
  const value = command[index + 1];
  if (index < 0 || value === undefined) throw new Error(`${command.join(' ')}: no ${flag}`);
  return value;
}

/** A port from "host:port" or "[v6]:port". */
export function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** A dnsward config in the deploy files, validated as `serve` does (without the environment checks). */
export function deployConfig(file: string, text = readFileSync(file, 'utf8')): Config {
  return parseConfig(text, file);
}

export function readYaml<T = unknown>(file: string): T {
  // The compose file uses YAML merge keys (<<: *anchor), which compose supports.
  return parse(readFileSync(file, 'utf8'), { merge: true }) as T;
}

export function readYamlDocuments(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
    return d.toJS() as Record<string, unknown>;
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (never throws on a non-zero exit). */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Whether a program is on PATH (or in /usr/sbin, where root's tools live). */
export async function haveProgram(name: string): Promise<boolean> {
  const result = await run('sh', ['-c', `command -v ${name} || test -x /usr/sbin/${name}`]);
  return result.code === 0;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
