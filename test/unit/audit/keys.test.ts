import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPseudonymSecret, loadSigningKey, parsePublicKey, publicKeyPem, rawPublicKey } from '../../../src/audit/keys.ts';
import { tempDir } from './helpers.ts';

describe('audit keys', () => {
  it('creates the signing key (0600, in a 0700 directory) on first use and reads the same key afterwards', async () => {
    const file = join(await tempDir(), 'keys', 'signing.key');
    const first = await loadSigningKey(file);
    expect(first.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(file, '..'))).mode & 0o777).toBe(0o700);
    const second = await loadSigningKey(file);
    expect(second.created).toBe(false);
    expect(rawPublicKey(second.value)).toBe(rawPublicKey(first.value));
    expect(rawPublicKey(parsePublicKey(publicKeyPem(first.value)))).toBe(rawPublicKey(first.value));
    expect(rawPublicKey(parsePublicKey(rawPublicKey(first.value)))).toBe(rawPublicKey(first.value));
  });

  it('refuses a file that is not an Ed25519 key, saying how to make one', async () => {
    const file = join(await tempDir(), 'bad.key');
    await writeFile(file, 'not a key');
    await expect(loadSigningKey(file)).rejects.toThrow(/DNSWARD_ERR_AUDIT_KEY|openssl genpkey -algorithm ed25519/);
  });

  it('creates a 32-byte hex pseudonym secret once; reads hex or text secrets', async () => {
    const file = join(await tempDir(), 'p.key');
    const created = await loadPseudonymSecret({ file });
    expect(created.created).toBe(true);
    expect(created.value).toHaveLength(32);
    expect((await readFile(file, 'utf8')).trim()).toBe(created.value.toString('hex'));
    expect((await loadPseudonymSecret({ file })).value.equals(created.value)).toBe(true);
    await writeFile(file, 'a passphrase that is long enough\n');
    expect((await loadPseudonymSecret({ file })).value.toString()).toBe('a passphrase that is long enough');
  });

  it('takes the secret from the named environment variable, with clear errors when unset or short', async () => {
    const file = join(await tempDir(), 'unused.key');
    const env = { GOOD: 'ab'.repeat(32), SHORT: 'abc' };
    expect((await loadPseudonymSecret({ file, env: 'GOOD' }, env)).value).toEqual(Buffer.alloc(32, 0xab));
    await expect(loadPseudonymSecret({ file, env: 'MISSING' }, env)).rejects.toThrow('audit.pseudonym_secret_env: environment variable MISSING is not set');
    await expect(loadPseudonymSecret({ file, env: 'SHORT' }, env)).rejects.toThrow(/too short/);
    await expect(stat(file)).rejects.toThrow();
  });
});
