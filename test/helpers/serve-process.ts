// `dnsward serve` as a child process, as users start it (bin/dnsward, its shebang's flags aside).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface ServeProcess {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, then the exit code once it has exited. */
  stop: () => Promise<number | null>;
}

/**
 * Runs `dnsward serve --config file` until it logs "dnsward ready" or exits (up to 10 s); kill it with stop().
 * `nodeFlags`: Node flags before the script (e.g. bin/dnsward's own, from its shebang).
 */
export async function serveUntilReady(file: string, env: NodeJS.ProcessEnv = process.env, nodeFlags: readonly string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...nodeFlags, resolve('bin/dnsward'), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 200 && !stdout.includes('dnsward ready') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  return {
    pid: child.pid as number,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
