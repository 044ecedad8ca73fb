// Appends queued chunks to their event files: one open handle (the current file), each chunk
// (its lines and its seal) with one writev, so that a process killed between two writes
// leaves whole, sealed writes; a write resumes where an error stopped it (no line is written
// twice or half); fdatasync when audit.fsync is set.
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Block, Chunk } from './outbox.ts';

export class EventAppender {
  private readonly dir: string;
  private readonly fsync: boolean;
  private handle: FileHandle | undefined;
  private handleName = '';
  private dirty = false;

  constructor(dir: string, fsync: boolean) {
    this.dir = dir;
    this.fsync = fsync;
  }

  /** The file currently open for appending ('' when none). */
  get openName(): string {
    return this.handleName;
  }

  /** Writes the rest of the chunk; on error the chunk keeps its progress for the next attempt. */
  async write(chunk: Chunk): Promise<void> {
    const handle = await this.handleFor(chunk.name);
    chunk.writing = true;
    skipWritten(chunk);
    while (chunk.blockIndex < chunk.blocks.length) {
      const buffers: Buffer[] = [];
      for (let i = chunk.blockIndex; i < chunk.blocks.length; i++) {
        const block = chunk.blocks[i] as Block;
        buffers.push(block.buf.subarray(i === chunk.blockIndex ? chunk.blockOffset : 0, block.used));
      }
      // One system call for the whole chunk; a short write (disk full, too many buffers) continues below.
      const { bytesWritten } = await handle.writev(buffers);
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

/** Moves the chunk's progress on by `bytes`. */
function advance(chunk: Chunk, bytes: number): void {
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
