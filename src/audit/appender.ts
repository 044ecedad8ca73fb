// Appends queued chunks to their event files: one open handle (the current file), writes
// that resume where an error stopped them (no line is written twice or half), and
// fdatasync when audit.fsync is set.
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
    while (chunk.blockIndex < chunk.blocks.length) {
      const block = chunk.blocks[chunk.blockIndex] as Block;
      while (chunk.blockOffset < block.used) {
        const { bytesWritten } = await handle.write(block.buf, chunk.blockOffset, block.used - chunk.blockOffset);
        chunk.blockOffset += bytesWritten;
        this.dirty = true;
      }
      chunk.blockIndex++;
      chunk.blockOffset = 0;
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
