import type { ChildProcess } from 'node:child_process';

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. A daemon may
 * still write in its directory until then (named removes its pid file, kresd closes its cache),
 * so a test removes that directory only after this.
 */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
