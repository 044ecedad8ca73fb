import { describe, expect, it } from 'vitest';
import { EDE, RCODE } from '../../../../src/dns/constants.ts';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { relayStage } from '../../../../src/pipeline/stages/relay.ts';
import { decode, extendedError } from '../../../helpers/dns-client.ts';
import { contextFor, recordingReplier } from '../helpers.ts';
import { aRecord, upstreamAnswer } from './answers.ts';

const end = (): void => {
  throw new Error('relay is the last stage');
};

describe('relay stage', () => {
  it('sends the upstream bytes with the client ID and aged TTLs, counted by where they came from', () => {
    const reply = recordingReplier();
    const stage = relayStage({ reply }, end);
    const ctx = contextFor({ name: 'Example.ORG', id: 4242 });
    const { buf, scan } = upstreamAnswer(ctx, aRecord(ctx));
    buf.writeUInt16BE(999, 0);
    stage(ctx, buf, scan, 100, 'cached');
    const sent = reply.replies[0];
    expect(sent?.outcome).toBe('cached');
    const out = decode(sent?.bytes as Buffer);
    expect(out.raw.readUInt16BE(0)).toBe(4242);
    expect(out.packet.answers[0]?.ttl).toBe(200);
    expect(out.raw.subarray(12, ctx.q.questionEnd)).toEqual(ctx.query.subarray(12, ctx.q.questionEnd));
  });

  it('counts a log-only query as logged', () => {
    const reply = recordingReplier();
    const ctx = contextFor({ name: 'www.tiktok.com' }, '10.20.0.1');
    ctx.logMatch = { rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } };
    const { buf, scan } = upstreamAnswer(ctx, aRecord(ctx));
    relayStage({ reply }, end)(ctx, buf, scan, 0, 'forwarded');
    expect(reply.replies[0]?.outcome).toBe('logged');
  });

  it('marks stale answers with TTL 30 and EDE 3 (RFC 8767)', () => {
    const reply = recordingReplier();
    const ctx = contextFor({ name: 'example.org', edns: 1232 });
    const { buf, scan } = upstreamAnswer(ctx, aRecord(ctx));
    relayStage({ reply }, end)(ctx as QueryContext, buf, scan, 0, 'stale');
    const sent = reply.replies[0];
    expect(sent?.outcome).toBe('stale');
    const out = decode(sent?.bytes as Buffer);
    expect(out.rcode).toBe(RCODE.NOERROR);
    expect(out.packet.answers[0]?.ttl).toBe(30);
    expect(extendedError(sent?.bytes as Buffer)?.code).toBe(EDE.STALE_ANSWER);
  });
});
