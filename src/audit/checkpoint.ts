// Signed checkpoints: the chain head (seq, hash) signed with Ed25519, written periodically
// and at shutdown to audit-<instance>.checkpoints.jsonl, so that cutting the tail of the
// log (which leaves a consistent but shorter chain) is detectable.
import { type KeyObject, sign, verify } from 'node:crypto';
import { SCHEMA_VERSION, canonicalize } from './event.ts';
import { rawPublicKey } from './keys.ts';

export type CheckpointKind = 'head' | 'prune';
export type CheckpointReason = 'start' | 'interval' | 'shutdown' | 'retention';

export interface Checkpoint {
  type: 'checkpoint';
  schema: number;
  /** head: the last event written (seq, hash). prune: the last event deleted by retention. */
  kind: CheckpointKind;
  reason: CheckpointReason;
  instance: string;
  ts: string;
  seq: number;
  hash: string;
  /** File holding event `seq` (head), or the newest file deleted (prune). Empty when seq is 0. */
  file: string;
  /** Events this process could not record since it started (buffer full); 0 normally. */
  dropped: number;
  /** When the writing process started (ISO), to tell runs apart. */
  run_started: string;
  /** Raw Ed25519 public key, base64url. */
  key: string;
  /** Ed25519 signature (base64url) over the canonical encoding of every other member. */
  sig: string;
}

export type UnsignedCheckpoint = Omit<Checkpoint, 'type' | 'schema' | 'key' | 'sig'>;

export function signCheckpoint(body: UnsignedCheckpoint, privateKey: KeyObject, publicKeyRaw = rawPublicKey(privateKey)): Checkpoint {
  const unsigned = { type: 'checkpoint' as const, schema: SCHEMA_VERSION, ...body, key: publicKeyRaw };
  const sig = sign(null, Buffer.from(canonicalize(unsigned, 'sig'), 'utf8'), privateKey).toString('base64url');
  return { ...unsigned, sig };
}

/** Undefined when the signature is good under the key the checkpoint names; otherwise what is wrong. */
export function checkCheckpointSignature(checkpoint: object, publicKey: KeyObject): string | undefined {
  const cp = checkpoint as Readonly<Record<string, unknown>>;
  if (typeof cp.sig !== 'string') return 'no signature';
  try {
    const ok = verify(null, Buffer.from(canonicalize(cp, 'sig'), 'utf8'), publicKey, Buffer.from(cp.sig, 'base64url'));
    return ok ? undefined : 'bad signature (checkpoint edited or signed by another key)';
  } catch (error) {
    return `signature cannot be checked: ${(error as Error).message}`;
  }
}

export function isCheckpoint(value: unknown): value is Checkpoint {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return (
    c.type === 'checkpoint' &&
    (c.kind === 'head' || c.kind === 'prune') &&
    typeof c.instance === 'string' &&
    typeof c.ts === 'string' &&
    Number.isSafeInteger(c.seq) &&
    typeof c.hash === 'string' &&
    typeof c.file === 'string' &&
    typeof c.key === 'string' &&
    typeof c.sig === 'string'
  );
}
