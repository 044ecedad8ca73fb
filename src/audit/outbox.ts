// Encoded lines waiting to be appended, grouped by target file, in reused 1 MiB blocks:
// lines held as strings for a flush interval would be promoted to old space, and fresh
// Buffers at ~20 MB/s would keep the collector busy. Blocks beyond the pool (a backlog: a
// flood, or a slow disk) are freed as soon as they are written, not left to a collection that
// an idle process never runs: after a flood at ~240k qps, ~100 MB of them stayed resident
// (docs/BENCHMARKS.md, stop 31).

export interface Block {
  buf: Buffer;
  used: number;
  /** Allocated by the outbox (an ArrayBuffer of its own): pooled or freed once written. */
  own: boolean;
}

/** Consecutive lines for one file. */
export interface Chunk {
  name: string;
  blocks: Block[];
  /** Set once writing has started: the chunk then takes no more lines. */
  writing: boolean;
  /** Progress of a write interrupted by an error: next block, and bytes of it already written. */
  blockIndex: number;
  blockOffset: number;
  count: number;
  lastSeq: number;
  /** Where the last line's hash digits are (read by Outbox.lastHash: one string per chunk, not per line). */
  lastHashBlock: Buffer | undefined;
  lastHashAt: number;
  /** The last line's hash once Outbox.lastHash has read it ('' until then); kept after completeFirst. */
  lastHash: string;
}

export const BLOCK_BYTES = 1 << 20;
const POOLED_BLOCKS = 8;

export class Outbox {
  /** Oldest first. */
  readonly chunks: Chunk[] = [];
  /** Lines in all chunks. */
  events = 0;
  private readonly pool: Buffer[] = [];
  private readonly maxPerChunk: number;

  /** `maxPerChunk`: lines per chunk at most (each chunk is one write). */
  constructor(maxPerChunk = Number.MAX_SAFE_INTEGER) {
    this.maxPerChunk = maxPerChunk;
  }

  /**
   * Appends bytes 0..length of `line` (one event line, newline included) for file `name`; its
   * hash's 64 hex digits are at line[hashAt, hashAt + 64).
   */
  add(name: string, line: Buffer, length: number, seq: number, hashAt: number): void {
    const last = this.chunks.at(-1);
    // Never append to a chunk being written, nor across files, nor beyond the chunk size.
    const open = last && !last.writing && last.name === name && last.count < this.maxPerChunk ? last : undefined;
    const tail = open?.blocks.at(-1);
    // The block before a new chunk: if taking one throws (out of memory), no chunk without lines is left to be sealed.
    const block = tail && tail.buf.length - tail.used >= length ? tail : this.takeBlock(length);
    let chunk = open;
    if (!chunk) {
      chunk = { name, blocks: [], writing: false, blockIndex: 0, blockOffset: 0, count: 0, lastSeq: 0, lastHashBlock: undefined, lastHashAt: 0, lastHash: '' };
      this.chunks.push(chunk);
    }
    if (block !== tail) chunk.blocks.push(block);
    chunk.lastHashBlock = block.buf;
    chunk.lastHashAt = block.used + hashAt;
    chunk.lastHash = '';
    block.used += line.copy(block.buf, block.used, 0, length);
    chunk.count++;
    chunk.lastSeq = seq;
    this.events++;
  }

  /** Adds a last line that is not an event (the seal) to a chunk; the chunk then takes no more lines. */
  close(chunk: Chunk, line: Buffer): void {
    chunk.writing = true;
    chunk.blocks.push({ buf: line, used: line.length, own: false });
  }

  /** The chunk to write next. */
  get first(): Chunk | undefined {
    return this.chunks[0];
  }

  /** The hash of the chunk's last line (read from its block the first time: the chunk's seal and the writer's head). */
  lastHash(chunk: Chunk): string {
    if (chunk.lastHash === '' && chunk.lastHashBlock) chunk.lastHash = chunk.lastHashBlock.toString('latin1', chunk.lastHashAt, chunk.lastHashAt + 64);
    return chunk.lastHash;
  }

  /**
   * The first chunk is on disk: drop it, keep up to POOLED_BLOCKS of its blocks for reuse and free
   * the rest (a Buffer kept from them reads as empty). Its lastHash is read first, and kept.
   */
  completeFirst(): Chunk | undefined {
    const chunk = this.chunks.shift();
    if (!chunk) return undefined;
    this.lastHash(chunk);
    chunk.lastHashBlock = undefined;
    for (const b of chunk.blocks) {
      if (!b.own) continue;
      if (b.buf.length === BLOCK_BYTES && this.pool.length < POOLED_BLOCKS) this.pool.push(b.buf);
      else free(b.buf);
    }
    chunk.blocks = [];
    this.events -= chunk.count;
    return chunk;
  }

  private takeBlock(atLeast: number): Block {
    const pooled = atLeast <= BLOCK_BYTES ? this.pool.pop() : undefined;
    return { buf: pooled ?? Buffer.allocUnsafeSlow(Math.max(BLOCK_BYTES, atLeast)), used: 0, own: true };
  }
}

/**
 * Gives a block's memory back now: transferring its ArrayBuffer to a new one of length 0 detaches
 * it and frees its store (bin/dnsward's malloc settings return blocks this large to the system).
 * The outbox's own blocks only: nothing else holds them once written (an onWritten listener
 * copies what it keeps).
 */
function free(buf: Buffer): void {
  const store = buf.buffer as ArrayBuffer;
  if (typeof store.transfer === 'function' && buf.byteOffset === 0 && buf.byteLength === store.byteLength) store.transfer(0);
}
