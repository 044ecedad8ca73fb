// One reused zstd context, one complete frame per span: each output decodes on its own, in the
// order the spans were given, however many are in flight.
import { randomBytes } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SpanCompressor } from '../../../src/state/span-compressor.ts';

function lines(from: number, count: number): Buffer {
  let text = '';
  for (let seq = from; seq < from + count; seq++) text += `{"action":"blocked","qname":"host-${seq}.tiktokv.com","seq":${seq},"hash":"${randomBytes(32).toString('hex')}"}\n`;
  return Buffer.from(text);
}

describe('SpanCompressor', () => {
  it('turns each span into a frame that decodes alone, smaller than the span', async () => {
    const compressor = new SpanCompressor();
    const spans = [lines(1, 3000), lines(3001, 1), Buffer.alloc(0), lines(3002, 500)];
    const frames = await Promise.all(spans.map((s) => compressor.compress(s)));
    frames.forEach((frame, i) => expect(zstdDecompressSync(frame).equals(spans[i] as Buffer)).toBe(true));
    expect((frames[0] as Buffer).length).toBeLessThan((spans[0] as Buffer).length / 2);
    compressor.close();
  });

  it('keeps working after close (a new context) and for spans larger than its output chunk', async () => {
    const compressor = new SpanCompressor();
    await compressor.compress(lines(1, 10));
    compressor.close();
    const big = Buffer.concat([lines(1, 20_000), randomBytes(2 << 20)]);
    expect(zstdDecompressSync(await compressor.compress(big)).equals(big)).toBe(true);
    compressor.close();
  });
});
