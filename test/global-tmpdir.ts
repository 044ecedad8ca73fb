// Every temporary file and directory the suite makes (os.tmpdir(): TMPDIR) goes under one
// directory for the run, removed when the run ends, so that a run leaves nothing in /tmp
// (it left ~350 directories before). Workers and the processes tests start inherit TMPDIR.
// Mode 1777, like /tmp: tests that run commands as an unprivileged user still can use it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'dnsward-tests-'));
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
}
