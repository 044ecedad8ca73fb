import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { RCODE } from '../../../src/dns/constants.ts';
import { checkRequest } from '../../../src/plugin/request-check.ts';
import { buildQuery } from '../../helpers/dns-client.ts';
import { craft, encodeRecord, OPCODE, pointer, pointerChain, pointerChainBombQuery, query, T, wireName } from '../../helpers/packet-craft.ts';

const rcodeOf = (check: ReturnType<typeof checkRequest>): number | undefined => (check.kind === 'answer' ? check.answer.readUInt16BE(2) & 0xf : undefined);

describe('request check before dns2 decodes', () => {
  it('passes queries as stub resolvers send them: one question, an OPT, a TSIG-sized extra record', () => {
    expect(checkRequest(buildQuery({ name: 'www.example.org', edns: 1232, dnssecOk: true }))).toEqual({ kind: 'pass' });
    expect(checkRequest(query('example.org', T.A, { additional: [{ name: 'key.example', type: 250, class: 255, ttl: 0, rdata: Buffer.alloc(8) }], opts: [{}] }))).toEqual({ kind: 'pass' });
  });

  it('drops responses and runts, and answers NOTIMP and FORMERR from dnsward\'s parser', () => {
    expect(checkRequest(craft({ header: { qr: true } }))).toEqual({ kind: 'drop', reason: 'response' });
    expect(checkRequest(Buffer.alloc(4))).toEqual({ kind: 'drop', reason: 'short' });
    expect(rcodeOf(checkRequest(craft({ header: { opcode: OPCODE.UPDATE } })))).toBe(RCODE.NOTIMP);
    expect(rcodeOf(checkRequest(craft({ questions: [] })))).toBe(RCODE.FORMERR);
    // A label holding a "." decodes in dns2 to the same text as two labels: never let it through.
    expect(checkRequest(craft({ questions: [{ nameBytes: Buffer.from('\x07ads.tik\x03com\x00', 'latin1') }] }))).toMatchObject({ kind: 'answer', reason: 'qname' });
    expect(checkRequest(query('example.org', T.A, { opts: [{}, {}] }))).toMatchObject({ kind: 'answer', reason: 'opt' });
  });

  it('answers FORMERR to queries carrying answers, authority or more than two additional records, as unbound does', () => {
    const a = { name: 'example.org', type: T.A, rdata: Buffer.from([192, 0, 2, 1]) };
    expect(checkRequest(query('example.org', T.A, { answers: [a] }))).toMatchObject({ kind: 'answer', reason: 'answer-or-authority', rcode: RCODE.FORMERR });
    expect(checkRequest(query('example.org', T.A, { authority: [a] }))).toMatchObject({ kind: 'answer', reason: 'answer-or-authority' });
    expect(checkRequest(query('example.org', T.A, { additional: [a, a], opts: [{}] }))).toMatchObject({ kind: 'answer', reason: 'additionals' });
    const formerr = checkRequest(query('example.org', T.A, { answers: [a] }));
    // The answer echoes the ID and question of the request.
    expect(formerr.kind === 'answer' && formerr.answer.readUInt16BE(0)).toBe(0x1234);
  });

  it('refuses an owner name that needs more than 126 pointer hops, which dns2 would follow to the end', () => {
    const questionEnd = 12 + wireName('example.org').length + 4;
    const chainBase = questionEnd + 11;
    const chain = pointerChain(chainBase, 500);
    const carrier = encodeRecord({ nameBytes: Buffer.from([0]), type: 0xff00, rdata: chain.bytes });
    const owner = encodeRecord({ nameBytes: pointer(chain.last), type: T.A, rdata: Buffer.from([192, 0, 2, 1]) });
    const message = Buffer.concat([craft({ questions: [{ name: 'example.org' }], header: { arcount: 2 } }), carrier, owner]);
    expect(checkRequest(message)).toMatchObject({ kind: 'answer', reason: 'owner-name', rcode: RCODE.FORMERR });
  });

  it('turns away at once the pointer-chain query that holds dns2\'s decoder for a long time', () => {
    const bomb = pointerChainBombQuery(30_000, 2000);
    checkRequest(query('warm.example'));
    let started = performance.now();
    const check = checkRequest(bomb);
    const ours = performance.now() - started;
    expect(check).toMatchObject({ kind: 'answer', rcode: RCODE.FORMERR });
    started = performance.now();
    dns2.Packet.parse(bomb);
    const theirs = performance.now() - started;
    expect(ours).toBeLessThan(50);
    expect(theirs).toBeGreaterThan(100);
    expect(theirs).toBeGreaterThan(ours * 20);
  });
});
