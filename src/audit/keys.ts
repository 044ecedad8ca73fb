// Secrets of the block log: the Ed25519 checkpoint key and the pseudonym secret.
// Both are created on first start (mode 0600, directory 0700) when the configured file is
// missing, so a fresh install works; operators who manage keys put theirs in place first.
import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DnswardError, ErrorCodes } from '../errors.ts';

export interface KeyLoadResult<T> {
  value: T;
  created: boolean;
}

async function readOrCreate(file: string, create: () => string, key: string): Promise<KeyLoadResult<string>> {
  try {
    return { value: await readFile(file, 'utf8'), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DnswardError(ErrorCodes.AUDIT_KEY, `audit.${key}: cannot read ${file}: ${(error as Error).message}; fix its permissions or point audit.${key} elsewhere`, { cause: error });
    }
  }
  const text = create();
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // wx: if another process created it meanwhile, use theirs.
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    return { value: text, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { value: await readFile(file, 'utf8'), created: false };
    throw new DnswardError(ErrorCodes.AUDIT_KEY, `audit.${key}: cannot create ${file}: ${(error as Error).message}; create the directory or point audit.${key} elsewhere`, { cause: error });
  }
}

/** The checkpoint signing key (PKCS#8 PEM, Ed25519). */
export async function loadSigningKey(file: string): Promise<KeyLoadResult<KeyObject>> {
  const { value, created } = await readOrCreate(
    file,
    () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    'signing_key_file',
  );
  let key: KeyObject;
  try {
    key = createPrivateKey(value);
  } catch (error) {
    throw new DnswardError(ErrorCodes.AUDIT_KEY, `audit.signing_key_file: ${file} is not a PEM private key (${(error as Error).message}); create one with: openssl genpkey -algorithm ed25519 -out ${file}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DnswardError(ErrorCodes.AUDIT_KEY, `audit.signing_key_file: ${file} holds a ${key.asymmetricKeyType} key; checkpoints need Ed25519: openssl genpkey -algorithm ed25519 -out ${file}`);
  }
  return { value: key, created };
}

function publicOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

/** Raw 32-byte Ed25519 public key, base64url (the `key` member of a checkpoint). */
export function rawPublicKey(key: KeyObject): string {
  const jwk = publicOf(key).export({ format: 'jwk' });
  return jwk.x as string;
}

export function publicKeyFromRaw(raw: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw }, format: 'jwk' });
}

/** Reads a public key given as PEM (SPKI, or a private key whose public half is taken) or as raw base64url. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return createPublicKey(trimmed);
  return publicKeyFromRaw(trimmed);
}

/**
 * The key's fingerprint, to pin it somewhere else: SHA-256 of its SubjectPublicKeyInfo (DER), as
 * `openssl pkey -pubin -in audit-<instance>.pub.pem -outform DER | sha256sum` prints it.
 */
export function keyFingerprint(key: KeyObject): string {
  return 'sha256:' + createHash('sha256').update(publicOf(key).export({ format: 'der', type: 'spki' })).digest('hex');
}

export function publicKeyPem(key: KeyObject): string {
  return publicOf(key).export({ format: 'pem', type: 'spki' }).toString();
}

const MIN_SECRET_BYTES = 16;

/** The pseudonym secret: from the environment variable when named, else from the file (created when missing). */
export async function loadPseudonymSecret(options: { file: string; env?: string | undefined }, environment: NodeJS.ProcessEnv = process.env): Promise<KeyLoadResult<Buffer>> {
  if (options.env !== undefined) {
    const value = environment[options.env];
    if (value === undefined || value === '') {
      throw new DnswardError(ErrorCodes.AUDIT_KEY, `audit.pseudonym_secret_env: environment variable ${options.env} is not set; set it (e.g. to the output of "openssl rand -hex 32") or remove the key to use audit.pseudonym_secret_file`);
    }
    return { value: decodeSecret(value, `environment variable ${options.env}`, 'pseudonym_secret_env'), created: false };
  }
  const { value, created } = await readOrCreate(options.file, () => `${randomBytes(32).toString('hex')}\n`, 'pseudonym_secret_file');
  return { value: decodeSecret(value, options.file, 'pseudonym_secret_file'), created };
}

function decodeSecret(text: string, where: string, key: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0 ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new DnswardError(ErrorCodes.AUDIT_KEY, `audit.${key}: the secret in ${where} is too short (${bytes.length} bytes, need ${MIN_SECRET_BYTES}); use e.g. "openssl rand -hex 32"`);
  }
  return bytes;
}
