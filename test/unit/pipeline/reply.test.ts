import { describe, expect, it } from 'vitest';
import { FLAG, RCODE } from '../../../src/dns/constants.ts';
import type { QueryContext, Responder } from '../../../src/pipeline/context.ts';
import { createReplier } from '../../../src/pipeline/reply.ts';
import { decode } from '../../helpers/dns-client.ts';
import { contextFor } from './helpers.ts';

function capture(): Responder & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  return { sent, send: (_ctx: QueryContext, response: Buffer) => void sent.push(response), noReply: () => undefined };
}

describe('Replier', () => {
  it('sendScratch: a listener that copies at once gets the scratch itself; others get a copy of its bytes', () => {
    const scratch = Buffer.from([1, 2, 3, 4, 5, 6]);
    const copied: { bytes: Buffer; length: number }[] = [];
    const copying: Responder = { send: () => undefined, sendCopy: (_ctx, bytes, length) => void copied.push({ bytes, length }), noReply: () => undefined };
    createReplier().sendScratch(contextFor({ name: 'example.org' }, '10.10.0.1', undefined, copying), scratch, 4, 'cached');
    expect(copied).toEqual([{ bytes: scratch, length: 4 }]);
    const plain = capture();
    const ctx = contextFor({ name: 'example.org' }, '10.10.0.1', undefined, plain);
    createReplier().sendScratch(ctx, scratch, 4, 'cached');
    scratch.fill(0);
    expect([...(plain.sent[0] as Buffer)]).toEqual([1, 2, 3, 4]);
    expect(ctx.segment.counts.reduce((sum, c) => sum + c, 0)).toBe(1);
  });

  it('sendScratch: bytes larger than the client accepts become an empty TC=1 reply', () => {
    const responder = capture();
    const ctx = contextFor({ name: 'example.org', id: 9 }, '10.10.0.1', undefined, responder);
    createReplier().sendScratch(ctx, Buffer.alloc(ctx.maxSize + 10), ctx.maxSize + 1, 'forwarded');
    const out = decode(responder.sent[0] as Buffer);
    expect(out.flags & FLAG.TC).toBe(FLAG.TC);
    expect(out.raw.readUInt16BE(0)).toBe(9);
  });

  it('hands the answer to the listener and counts the outcome on the client segment', () => {
    const responder = capture();
    const ctx = contextFor({ name: 'example.org', id: 77 }, '10.10.0.1', undefined, responder);
    createReplier().synth(ctx, { rcode: RCODE.REFUSED }, 'refused');
    expect(responder.sent).toHaveLength(1);
    const out = decode(responder.sent[0] as Buffer);
    expect(out.raw.readUInt16BE(0)).toBe(77);
    expect(out.rcode).toBe(RCODE.REFUSED);
    const refusedUdp = ctx.segment.counts.reduce((sum, c) => sum + c, 0);
    expect(refusedUdp).toBe(1);
  });

  it('replaces an answer larger than the client accepts with an empty TC=1 reply', () => {
    const responder = capture();
    const ctx = contextFor({ name: 'example.org', id: 5 }, '10.10.0.1', undefined, responder);
    const big = Buffer.alloc(ctx.maxSize + 1);
    createReplier().send(ctx, big, 'forwarded');
    const out = decode(responder.sent[0] as Buffer);
    expect(out.flags & FLAG.TC).toBe(FLAG.TC);
    expect(out.raw.readUInt16BE(0)).toBe(5);
    expect(out.raw.readUInt16BE(6)).toBe(0);
  });

  it('sends an answer that fits unchanged', () => {
    const responder = capture();
    const ctx = contextFor({ name: 'example.org' }, '10.10.0.1', undefined, responder);
    const fits = Buffer.alloc(ctx.maxSize, 1);
    createReplier().send(ctx, fits, 'forwarded');
    expect(responder.sent[0]).toBe(fits);
  });
});
