// The Ed25519 key that signs every list version (lists.signing_key_file). Lists are signed by
// default: when the file is missing at first start, a key is made there (mode 0600, directory
// 0700), as the block log's key is. Operators who manage keys put theirs in place first.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DnswardError, ErrorCodes } from '../errors.ts';

export interface SigningKey {
  readonly key: KeyObject;
  /** SHA-256 (hex) of the DER public key: `openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum`. */
  readonly fingerprint: string;
  /** Whether this call made the key. */
  readonly created: boolean;
}

const KEY = 'lists.signing_key_file';

/** Loads the key, or makes one when the file does not exist. */
export async function loadOrCreateSigningKey(file: string): Promise<SigningKey> {
  const { pem, created } = await readOrCreate(file);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `${KEY}: "${file}" is not a PEM private key; create one with: openssl genpkey -algorithm ed25519 -out ${file}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DnswardError(ErrorCodes.CONFIG, `${KEY}: "${file}" is a ${key.asymmetricKeyType ?? 'unknown'} key; lists are signed with Ed25519 (openssl genpkey -algorithm ed25519)`);
  }
  return { key, fingerprint: publicKeyFingerprint(key), created };
}

export function publicKeyFingerprint(key: KeyObject): string {
  const der = (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

async function readOrCreate(file: string): Promise<{ pem: string; created: boolean }> {
  try {
    return { pem: await readFile(file, 'utf8'), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DnswardError(ErrorCodes.CONFIG, `${KEY}: cannot read "${file}": ${(error as Error).message}; fix its permissions or point ${KEY} elsewhere`, { cause: error });
    }
  }
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // wx: when another replica on this disk made it meanwhile, use theirs.
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
    return { pem, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { pem: await readFile(file, 'utf8'), created: false };
    throw new DnswardError(ErrorCodes.CONFIG, `${KEY}: cannot create "${file}": ${(error as Error).message}; create the directory, or point ${KEY} at a writable place`, { cause: error });
  }
}
