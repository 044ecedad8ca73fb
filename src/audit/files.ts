// Block-log file layout under audit.dir, and a line reader that knows byte offsets and
// whether the last line was complete.
//
//   audit-<instance>-<YYYY-MM-DD>-<NNN>.jsonl   events, one JSON object per line (UTC date, size index)
//   audit-<instance>.checkpoints.jsonl          signed checkpoints of the chain head
//   audit-<instance>.pub.pem                    the Ed25519 public key that signs them (for convenience;
//                                               auditors should pin their own copy)
import { open, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface EventFile {
  path: string;
  name: string;
  instance: string;
  /** UTC date of the events in it, YYYY-MM-DD. */
  date: string;
  index: number;
}

const EVENT_FILE = /^audit-(.+)-(\d{4}-\d{2}-\d{2})-(\d{3,})\.jsonl$/;
const CHECKPOINT_FILE = /^audit-(.+)\.checkpoints\.jsonl$/;

/** Instance names go into file names: anything but letters, digits, ".", "_" and "-" becomes "_". */
export function fileSafeInstance(instance: string): string {
  return instance.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function eventFileName(instance: string, date: string, index: number): string {
  return `audit-${fileSafeInstance(instance)}-${date}-${String(index).padStart(3, '0')}.jsonl`;
}

export function checkpointFileName(instance: string): string {
  return `audit-${fileSafeInstance(instance)}.checkpoints.jsonl`;
}

export function publicKeyFileName(instance: string): string {
  return `audit-${fileSafeInstance(instance)}.pub.pem`;
}

export function parseEventFileName(path: string): EventFile | undefined {
  const name = basename(path);
  const m = EVENT_FILE.exec(name);
  if (!m) return undefined;
  return { path, name, instance: m[1] as string, date: m[2] as string, index: Number(m[3]) };
}

export function parseCheckpointFileName(name: string): string | undefined {
  return CHECKPOINT_FILE.exec(name)?.[1];
}

export function compareEventFiles(a: EventFile, b: EventFile): number {
  if (a.instance !== b.instance) return a.instance < b.instance ? -1 : 1;
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  return a.index - b.index;
}

/** Event files in a directory, ordered by instance, date, index. A missing directory has none. */
export async function listEventFiles(dir: string, instance?: string): Promise<EventFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const safe = instance === undefined ? undefined : fileSafeInstance(instance);
  return names
    .map((n) => parseEventFileName(join(dir, n)))
    .filter((f): f is EventFile => f !== undefined && (safe === undefined || f.instance === safe))
    .sort(compareEventFiles);
}

export async function listCheckpointInstances(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).map(parseCheckpointFileName).filter((n): n is string => n !== undefined).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export interface Line {
  text: string;
  /** 1-based line number (only meaningful when reading from offset 0). */
  number: number;
  /** Byte offset of the line's first byte, and of the byte after its newline. */
  start: number;
  end: number;
  /** false for a last line without a newline (interrupted write, or a cut). */
  complete: boolean;
}

/** Reads a file line by line from a byte offset; memory stays bounded by the chunk size and the longest line. */
export async function* readLines(path: string, offset = 0, chunkSize = 1 << 20): AsyncGenerator<Line> {
  const handle = await open(path, 'r');
  try {
    let position = offset;
    let carry: Buffer = Buffer.alloc(0);
    let carryStart = offset;
    let number = 0;
    const buffer = Buffer.allocUnsafe(chunkSize);
    while (true) {
      const { bytesRead } = await handle.read(buffer, 0, chunkSize, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = carry.length > 0 ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
      let from = 0;
      let nl = data.indexOf(10, from);
      while (nl !== -1) {
        number++;
        yield { text: data.toString('utf8', from, nl), number, start: carryStart + from, end: carryStart + nl + 1, complete: true };
        from = nl + 1;
        nl = data.indexOf(10, from);
      }
      carry = Buffer.from(data.subarray(from));
      carryStart += from;
    }
    if (carry.length > 0) {
      number++;
      yield { text: carry.toString('utf8'), number, start: carryStart, end: carryStart + carry.length, complete: false };
    }
  } finally {
    await handle.close();
  }
}

/** The last complete line of a file (reading only its tail), and where it ends. */
export async function lastCompleteLine(path: string, maxTail = 1 << 20): Promise<{ text: string | undefined; completeEnd: number; size: number }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return { text: undefined, completeEnd: 0, size };
    const length = Math.min(size, maxTail);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lastNl = buffer.lastIndexOf(10);
    if (lastNl === -1) return { text: undefined, completeEnd: size - length, size };
    const completeEnd = size - length + lastNl + 1;
    const prevNl = lastNl === 0 ? -1 : buffer.lastIndexOf(10, lastNl - 1);
    if (prevNl === -1 && length < size) throw new Error(`${path}: last line longer than ${maxTail} bytes`);
    return { text: buffer.toString('utf8', prevNl + 1, lastNl), completeEnd, size };
  } finally {
    await handle.close();
  }
}

/** Where a restart puts lines it found after the last seal (not an event-file name: never part of the chain). */
export function unsealedFileName(instance: string, runStarted: string): string {
  return `audit-${fileSafeInstance(instance)}.unsealed-${runStarted.replace(/[-:.]/g, '')}.jsonl`;
}

/** The complete lines of a file from its end backwards (the incomplete last line, if any, is skipped). */
export async function* linesBackward(path: string, chunkSize = 64 * 1024): AsyncGenerator<{ text: string; start: number; end: number }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    // buf holds bytes [bufStart, bufStart + buf.length) of the file.
    let bufStart = size;
    let buf: Buffer = Buffer.alloc(0);
    const extend = async (): Promise<boolean> => {
      if (bufStart === 0) return false;
      const n = Math.min(chunkSize, bufStart);
      const chunk = Buffer.allocUnsafe(n);
      await handle.read(chunk, 0, n, bufStart - n);
      bufStart -= n;
      buf = Buffer.concat([chunk, buf]);
      return true;
    };
    // The end of the last complete line: just after the last newline.
    let lineEnd = -1;
    while (lineEnd < 0) {
      const nl = buf.lastIndexOf(10);
      if (nl >= 0) lineEnd = bufStart + nl + 1;
      else if (!(await extend())) return;
    }
    while (lineEnd > 0) {
      // The newline before this line's own newline (at lineEnd - 1).
      let lineStart = -1;
      while (lineStart < 0) {
        const from = lineEnd - 2 - bufStart;
        const nl = from >= 0 ? buf.lastIndexOf(10, from) : -1;
        if (nl >= 0) lineStart = bufStart + nl + 1;
        else if (!(await extend())) lineStart = 0;
      }
      yield { text: buf.toString('utf8', lineStart - bufStart, lineEnd - 1 - bufStart), start: lineStart, end: lineEnd };
      buf = buf.subarray(0, lineStart - bufStart);
      lineEnd = lineStart;
    }
  } finally {
    await handle.close();
  }
}
