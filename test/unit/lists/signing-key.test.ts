import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, verify, createPublicKey } from 'node:crypto';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../../src/lists/signing-key.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dnsward-list-key-'));
}

describe('loadOrCreateSigningKey', () => {
  it('makes an Ed25519 key at first start (file 0600, directory 0700) and loads the same key afterwards', async () => {
    const file = join(await tempDir(), 'list-keys', 'signing.key');
    const first = await loadOrCreateSigningKey(file);
    expect(first.created).toBe(true);
    expect(first.key.asymmetricKeyType).toBe('ed25519');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(file, '..'))).mode & 0o777).toBe(0o700);
    const second = await loadOrCreateSigningKey(file);
    expect(second.created).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
    const signature = sign(null, Buffer.from('manifest'), second.key);
    expect(verify(null, Buffer.from('manifest'), createPublicKey(first.key), signature)).toBe(true);
  });

  it('gives the fingerprint openssl computes: SHA-256 of the DER public key', async () => {
    const file = join(await tempDir(), 'signing.key');
    const { fingerprint } = await loadOrCreateSigningKey(file);
    const der = execFileSync('openssl', ['pkey', '-in', file, '-pubout', '-outform', 'DER']);
    expect(fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
  });

  it('uses a key the operator put in place', async () => {
    const file = join(await tempDir(), 'mine.pem');
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const loaded = await loadOrCreateSigningKey(file);
    expect(loaded.created).toBe(false);
    expect(loaded.key.export({ type: 'pkcs8', format: 'pem' })).toEqual(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  it('refuses other keys and junk with the fix in the message, and says which key it could not create', async () => {
    const dir = await tempDir();
    const rsa = join(dir, 'rsa.pem');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(loadOrCreateSigningKey(rsa)).rejects.toThrow(/lists.signing_key_file: ".*rsa.pem" is a rsa key; lists are signed with Ed25519/);
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a key');
    await expect(loadOrCreateSigningKey(junk)).rejects.toThrow(/not a PEM private key; create one with: openssl genpkey -algorithm ed25519/);
    // A regular file where the directory should be.
    await expect(loadOrCreateSigningKey(join(junk, 'signing.key'))).rejects.toThrow(/lists.signing_key_file: (cannot read|cannot create)/);
  });
});
