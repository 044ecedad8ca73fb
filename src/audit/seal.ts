// Seals: the writer's signature on each write. Every append to an event file is the batch of
// event lines followed by one seal line, written in order (appender.ts), so a record the writer
// wrote is covered by the seal after it, and a record someone else appended is not. A seal names how
// many event lines before it it covers (`count`) and the chain head they end at (`seq`,
// `hash`). `start` and `shutdown` seals (count 0) mark the runs: a run that ended with a
// shutdown seal wrote nothing after it. A start seal that found unsealed lines after the last
// seal at restart moved them aside and says so in `recovered` (never adopting them).
import { type KeyObject, sign } from 'node:crypto';
import { checkCheckpointSignature } from './checkpoint.ts';
import { SCHEMA_VERSION, canonicalize, isHashHex } from './event.ts';
import { publicKeyFromRaw, rawPublicKey } from './keys.ts';

export type SealReason = 'batch' | 'start' | 'shutdown';

/** What a restart found after the last good seal, and where it put it. */
export interface RecoveredTail {
  /** The reason of the last good seal before it: `shutdown` means its run had ended cleanly; `none`: no good seal in the log. */
  after: SealReason | 'none';
  /** run_started of that seal ('' for none). */
  after_run: string;
  /** The checkpoints file held something at the restart (the log was not new). */
  had_checkpoints: boolean;
  /** Complete lines found (each ends with a newline). */
  lines: number;
  /** seq of the first and last complete line that is an event (0 when none is). */
  first_seq: number;
  last_seq: number;
  /** Every complete line is an event continuing the chain from that seal (seq + 1, prev, hash), as one interrupted write leaves them. */
  chained: boolean;
  /** Complete lines that look like seals but do not verify. */
  bad_seals: number;
  /** Event files the lines were in. */
  files: number;
  /** Bytes of an incomplete last line (a write cut in mid-line). */
  partial_bytes: number;
  /** Everything moved: total bytes, the file in audit.dir that now holds them, and their SHA-256. */
  bytes: number;
  moved_to: string;
  sha256: string;
}

export interface Seal {
  type: 'seal';
  schema: number;
  reason: SealReason;
  instance: string;
  /** When the writing process started (ISO): tells runs apart. */
  run_started: string;
  ts: string;
  /** The chain head at this line: the last event before it (0 and 64 zeros in an empty log). */
  seq: number;
  hash: string;
  /** Event lines immediately before this line that it covers (the write it ends); 0 for start and shutdown. */
  count: number;
  /** start only: what was set aside at this restart. */
  recovered?: RecoveredTail;
  /** start only: the key of the seal this run continues from, when it is not this run's key. */
  previous_key?: string;
  /** Raw Ed25519 public key, base64url. */
  key: string;
  /** Ed25519 signature (base64url) over the canonical encoding of every other member. */
  sig: string;
}

export type UnsignedSeal = Omit<Seal, 'type' | 'schema' | 'key' | 'sig'>;

/** At most this many events per write, so that one interrupted write can leave at most this many unsealed. */
export const MAX_SEALED_EVENTS = 4096;

/** Seal lines start with these bytes (the writer writes `type` first): found without parsing. */
export const SEAL_PREFIX = '{"type":"seal",';

export function signSeal(body: UnsignedSeal, privateKey: KeyObject, publicKeyRaw = rawPublicKey(privateKey)): Seal {
  const unsigned = { type: 'seal' as const, schema: SCHEMA_VERSION, ...body, key: publicKeyRaw };
  const sig = sign(null, Buffer.from(canonicalize(unsigned, 'sig'), 'utf8'), privateKey).toString('base64url');
  return { ...unsigned, sig };
}

/** The file line of a seal (newline included). */
export function sealLine(seal: Seal): Buffer {
  return Buffer.from(JSON.stringify(seal) + '\n', 'utf8');
}

export function isSeal(value: unknown): value is Seal {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<string, unknown>;
  return (
    s.type === 'seal' &&
    (s.reason === 'batch' || s.reason === 'start' || s.reason === 'shutdown') &&
    typeof s.instance === 'string' &&
    typeof s.run_started === 'string' &&
    typeof s.ts === 'string' &&
    Number.isSafeInteger(s.seq) &&
    (s.seq as number) >= 0 &&
    // The chain continues from it: 64 hex digits, as every event's hash (a seal signed over anything else is no anchor).
    isHashHex(s.hash) &&
    Number.isSafeInteger(s.count) &&
    (s.count as number) >= 0 &&
    typeof s.key === 'string' &&
    typeof s.sig === 'string' &&
    (s.recovered === undefined || isRecoveredTail(s.recovered))
  );
}

function isRecoveredTail(value: unknown): value is RecoveredTail {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  const ints = ['lines', 'first_seq', 'last_seq', 'bad_seals', 'files', 'partial_bytes', 'bytes'] as const;
  return (
    ['batch', 'start', 'shutdown', 'none'].includes(r.after as string) &&
    typeof r.after_run === 'string' &&
    typeof r.chained === 'boolean' &&
    typeof r.had_checkpoints === 'boolean' &&
    typeof r.moved_to === 'string' &&
    typeof r.sha256 === 'string' &&
    ints.every((k) => Number.isSafeInteger(r[k]) && (r[k] as number) >= 0)
  );
}

/**
 * Whether a set-aside tail can be what one interrupted write of the previous run left
 * (`interrupted`: genuine but unprovable), or cannot (`foreign`: dnsward did not write it,
 * with the reason). `shutdownRuns`: runs that the checkpoints file says ended cleanly.
 */
export function judgeTail(tail: RecoveredTail, shutdownRuns: ReadonlySet<string> = new Set()): { foreign: false } | { foreign: true; why: string } {
  if (tail.lines === 0) return { foreign: false };
  // No seal at all: only the first write of a new log (from seq 1, no checkpoint yet) can leave that.
  if (tail.after === 'none' && (tail.had_checkpoints || tail.first_seq !== 1)) {
    return { foreign: true, why: `no signed record precedes them, and the log is not new (${tail.had_checkpoints ? 'it has checkpoints' : `they start at seq ${tail.first_seq}`})` };
  }
  if (tail.after === 'shutdown') return { foreign: true, why: `they follow the shutdown seal of the run started ${tail.after_run}, which wrote nothing after it` };
  if (shutdownRuns.has(tail.after_run)) return { foreign: true, why: `the checkpoints file records a clean shutdown of the run started ${tail.after_run}, which wrote nothing after it` };
  if (tail.bad_seals > 0) return { foreign: true, why: `${tail.bad_seals} of them look like seals but do not verify` };
  if (!tail.chained) return { foreign: true, why: 'they do not continue the chain as an interrupted write would' };
  if (tail.files > 1) return { foreign: true, why: `they are spread over ${tail.files} files, and one write goes to one file` };
  if (tail.lines > MAX_SEALED_EVENTS) return { foreign: true, why: `they are more than one write holds (${MAX_SEALED_EVENTS})` };
  return { foreign: false };
}

/** Undefined when the seal verifies under the key it names; otherwise what is wrong. */
export function checkSealSignature(seal: Seal, publicKey?: KeyObject): string | undefined {
  let key = publicKey;
  if (!key) {
    try {
      key = publicKeyFromRaw(seal.key);
    } catch {
      return 'names a malformed public key';
    }
  }
  return checkCheckpointSignature(seal, key);
}
