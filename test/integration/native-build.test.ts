// native/build.ts as npm ci runs it, on a copy of native/ whose hash.cc does not compile: the
// datagram addon must survive the hash addon's failure (each is checked and kept on its own).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const native = join(import.meta.dirname, '..', '..', 'native');
const work = mkdtempSync(join(tmpdir(), 'dnsward-native-build-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(process.platform === 'linux')('native/build.ts', () => {
  it('keeps the datagram addon when only the hash addon fails to build, and names the fallback of the one that failed', () => {
    for (const file of ['binding.gyp', 'build.ts', 'datagram.cc']) copyFileSync(join(native, file), join(work, file));
    writeFileSync(join(work, 'hash.cc'), '#error "broken on purpose by the test"\n');
    const run = spawnSync(process.execPath, [join(work, 'build.ts'), '--strict'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, DNSWARD_SKIP_ADDON: '' } });
    expect(run.stderr).toContain('dnsward_datagram.node built');
    expect(run.stderr).toContain('dnsward_hash.node not built; the block log hashes with node:crypto');
    expect(run.stderr).toContain('broken on purpose');
    // --strict: a missing addon is a failure; without it npm ci goes on (exit 0).
    expect(run.status).toBe(1);
    expect(existsSync(join(work, 'build', 'Release', 'dnsward_datagram.node'))).toBe(true);
    expect(existsSync(join(work, 'build', 'Release', 'dnsward_hash.node'))).toBe(false);
  }, 300_000);
});
