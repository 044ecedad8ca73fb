import { describe, expect, it } from 'vitest';
import { CSV_HEADER, csvCell, csvRow } from '../../../src/audit/csv.ts';
import { GENESIS, encodeEvent, inSchemaOrder } from '../../../src/audit/event.ts';

describe('CSV', () => {
  it('has a header row of the schema members, CRLF', () => {
    expect(CSV_HEADER).toBe('ts,instance,segment,client,qname,qtype,action,list,rule,list_version,response,seq,prev,hash\r\n');
  });

  it('quotes cells with a comma, quote or line break (RFC 4180)', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a\nb')).toBe('"a\nb"');
    expect(csvCell(42)).toBe('42');
  });

  it('puts a leading quote before cells a spreadsheet would run as a formula', () => {
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx']) expect(csvCell(c)).toBe(`'${c}`);
    expect(csvCell('\rx')).toBe(`"'\rx"`);
  });

  it('writes a row in the schema order', () => {
    const body = { ts: '2026-11-28T10:00:00.000Z', instance: 'a', segment: 's', client: 'c', qname: 'q.example', qtype: 'A', action: 'blocked' as const, list: 'l', rule: 'r', list_version: 'v', response: 'nxdomain' as const };
    const event = inSchemaOrder(JSON.parse(encodeEvent(body, 1, GENESIS).line) as Record<string, unknown>);
    expect(csvRow(event)).toBe(`2026-11-28T10:00:00.000Z,a,s,c,q.example,A,blocked,l,r,v,nxdomain,1,${GENESIS},${event.hash}\r\n`);
  });
});
