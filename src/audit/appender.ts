// Appends queued chunks to their event files: one open handle (the current file), each chunk
// (its lines and its seal) in writev calls of whole lines, at most MAX_WRITEV_BYTES each
// (MAX_WRITEV_BYTES_BEHIND when the writer is behind), so
// that a process killed between two writes leaves whole, sealed writes (killed inside one,
// whole lines without their seal, which the next start sets aside); a write resumes where an
// error stopped it (no line is written twice or half); fdatasync when audit.fsync is set.
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Block, Chunk } from './outbox.ts';

/**
 * Bytes per writev at most. A 4,096-event write is ~1.8 MB: one writev of it kept a pool thread
 * on a CPU for ~3.4 ms, copying into the page cache, and the DNS thread, woken on that CPU,
 * waited behind it: that wait was the p99 of blocked queries at 20k qps (docs/BENCHMARKS.md,
 * stop 24). Pieces of 128 KiB hold a CPU for a fraction of a millisecond each.
 */
export const MAX_WRITEV_BYTES = 128 * 1024;

/**
 * Bytes per writev when the writer is behind (writer.ts): a whole chunk in one call. Each
 * piece is a turn of the DNS thread's event loop, and a saturated loop turns every few ms: at
 * 128 KiB (15 turns a chunk) the writer managed 80-100k events a second against 130-150k
 * recorded, held audit.max_buffered within 5 s and dropped decisions; in one piece it kept
 * up, with a backlog of 1-4k (docs/BENCHMARKS.md, stop 33). Past the point where the p99 of a
 * light load matters: the queue is the latency then. A chunk is one call while it is under 4 MiB
 * (4,096 lines of under 1 KiB). With audit.worker_thread the pieces wait on the block log's own
 * loop instead; the same rule holds there.
 */
export const MAX_WRITEV_BYTES_BEHIND = 4 * 1024 * 1024;

export class EventAppender {
  private readonly dir: string;
  private readonly fsync: boolean;
  private handle: FileHandle | undefined;
  private handleName = '';
  private dirty = false;
  /** writev calls made so far: a chunk of N bytes written in pieces of P bytes takes at least N / P of them. */
  writevCalls = 0;

  constructor(dir: string, fsync: boolean) {
    this.dir = dir;
    this.fsync = fsync;
  }

  /** The file currently open for appending ('' when none). */
  get openName(): string {
    return this.handleName;
  }

  /**
   * Writes the rest of the chunk in writevs of at most `pieceBytes`; on error the chunk keeps its
   * progress for the next attempt.
   */
  async write(chunk: Chunk, pieceBytes = MAX_WRITEV_BYTES): Promise<void> {
    const handle = await this.handleFor(chunk.name);
    chunk.writing = true;
    skipWritten(chunk);
    while (chunk.blockIndex < chunk.blocks.length) {
      // A short write (disk full) continues with the next piece from where it stopped.
      const { bytesWritten } = await handle.writev(nextPiece(chunk, pieceBytes));
      this.writevCalls++;
      if (bytesWritten === 0) throw new Error(`${chunk.name}: write made no progress`);
      this.dirty = true;
      advance(chunk, bytesWritten);
    }
  }

  /** Appends one line to file `name` (a seal outside a chunk). */
  async appendLine(name: string, line: Buffer): Promise<void> {
    const handle = await this.handleFor(name);
    for (let offset = 0; offset < line.length; ) {
      const { bytesWritten } = await handle.write(line, offset, line.length - offset);
      offset += bytesWritten;
      this.dirty = true;
    }
  }

  /** fdatasync of what was written since the last sync (audit.fsync). */
  async sync(): Promise<void> {
    if (this.fsync && this.dirty && this.handle) await this.handle.datasync();
    this.dirty = false;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.handleName = '';
    if (!handle) return;
    try {
      if (this.fsync && this.dirty) await handle.datasync();
    } finally {
      this.dirty = false;
      await handle.close();
    }
  }

  private async handleFor(name: string): Promise<FileHandle> {
    if (this.handle && this.handleName === name) return this.handle;
    await this.close();
    this.handle = await open(join(this.dir, name), 'a', 0o640);
    this.handleName = name;
    return this.handle;
  }
}

/**
 * The chunk's next bytes to write, at most `limit` of them, ending at a line's end where one
 * does (blocks hold whole lines, so a piece cuts a line only when a single line exceeds `limit`).
 */
export function nextPiece(chunk: Chunk, limit: number): Buffer[] {
  const buffers: Buffer[] = [];
  let bytes = 0;
  for (let i = chunk.blockIndex; i < chunk.blocks.length && bytes < limit; i++) {
    const block = chunk.blocks[i] as Block;
    const start = i === chunk.blockIndex ? chunk.blockOffset : 0;
    let end = block.used;
    if (end - start > limit - bytes) {
      const lineEnd = block.buf.lastIndexOf(0x0a, start + (limit - bytes) - 1) + 1;
      // No line ends within the room left: stop before this block, unless nothing is taken yet.
      if (lineEnd > start) end = lineEnd;
      else if (buffers.length > 0) break;
      else end = start + limit;
    }
    buffers.push(block.buf.subarray(start, end));
    bytes += end - start;
    // Cut inside this block: the rest of it comes first in the next piece.
    if (end < block.used) break;
  }
  return buffers;
}

/** Moves the chunk's progress on by `bytes`. */
export function advance(chunk: Chunk, bytes: number): void {
  let rest = bytes;
  while (rest > 0 && chunk.blockIndex < chunk.blocks.length) {
    const block = chunk.blocks[chunk.blockIndex] as Block;
    const left = block.used - chunk.blockOffset;
    if (rest < left) {
      chunk.blockOffset += rest;
      rest = 0;
    } else {
      rest -= left;
      chunk.blockIndex++;
      chunk.blockOffset = 0;
    }
  }
  skipWritten(chunk);
}

/** Steps over blocks with nothing left to write. */
function skipWritten(chunk: Chunk): void {
  while (chunk.blockIndex < chunk.blocks.length && chunk.blockOffset >= (chunk.blocks[chunk.blockIndex] as Block).used) {
    chunk.blockIndex++;
    chunk.blockOffset = 0;
  }
}
