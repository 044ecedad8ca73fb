import { describe, expect, it } from 'vitest';
import { CSV_HEADER, csvCell, csvRow, presentName, presentRule } from '../../../src/audit/csv.ts';
import { GENESIS, encodeEvent, inSchemaOrder } from '../../../src/audit/event.ts';

describe('CSV', () => {
  it('has a header row of the schema members, CRLF', () => {
    expect(CSV_HEADER).toBe('ts,instance,segment,client,qname,qtype,action,list,rule,list_version,response,transport,seq,prev,hash\r\n');
  });

  it('quotes cells with a comma or a quote (RFC 4180); escapes ";" (quotes do not stop a ";" reader) and "\\"', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('a;=b')).toBe('a\\059=b');
    expect(csvCell('a\\b')).toBe('a\\092b');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(42)).toBe('42');
  });

  it('puts a leading quote before cells a spreadsheet would run as a formula', () => {
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)']) expect(csvCell(c)).toBe(`'${c}`);
  });

  it('writes names in DNS presentation form: \\DDD for every octet outside letters, digits, "-", "_", ".", "*"', () => {
    expect(presentName('www.tiktok.com')).toBe('www.tiktok.com');
    expect(presentName('*._dmarc.a-b.example')).toBe('*._dmarc.a-b.example');
    expect(presentName("x;=cmd|' /C calc'!A0;y.tiktok.com")).toBe('x\\059\\061cmd\\124\\039\\032\\047C\\032calc\\039\\033A0\\059y.tiktok.com');
    expect(presentName('\u001b\u0007\u0000\\"')).toBe('\\027\\007\\000\\092\\034');
    // Octets from the wire are one character each (latin1); wider characters go as their UTF-8 octets.
    expect(presentName('\u00e9')).toBe('\\233');
    expect(presentName('\u202e')).toBe('\\226\\128\\174');
    expect(presentRule('cname:a;b.example')).toBe('cname:a\\059b.example');
    expect(presentRule('tiktok.com')).toBe('tiktok.com');
  });

  it('escapes control characters in every text cell and guards every field, not only qname', () => {
    expect(csvCell('\u001b[31m')).toBe('\\027[31m');
    expect(csvCell('\tx')).toBe('\\009x');
    expect(csvCell('-1;=2')).toBe("'-1\\059=2");
    const body = { ts: '2026-11-28T10:00:00.000Z', instance: '@i', segment: '=s', client: '+c', qname: '-q.example', qtype: 'A', action: 'blocked' as const, list: 'l;=x', rule: 'cname:=r', list_version: 'v', response: 'nxdomain' as const };
    const row = csvRow(inSchemaOrder(JSON.parse(encodeEvent(body, 1, GENESIS).line) as Record<string, unknown>));
    expect(row.split(',').slice(1, 9)).toEqual(["'@i", "'=s", "'+c", "'-q.example", 'A', 'blocked', 'l\\059=x', 'cname:\\061r']);
  });

  it('writes a row in the schema order', () => {
    const body = { ts: '2026-11-28T10:00:00.000Z', instance: 'a', segment: 's', client: 'c', qname: 'q.example', qtype: 'A', action: 'blocked' as const, list: 'l', rule: 'r', list_version: 'v', response: 'nxdomain' as const };
    const event = inSchemaOrder(JSON.parse(encodeEvent(body, 1, GENESIS).line) as Record<string, unknown>);
    // A record from before transport was logged has an empty cell there.
    expect(csvRow(event)).toBe(`2026-11-28T10:00:00.000Z,a,s,c,q.example,A,blocked,l,r,v,nxdomain,,1,${GENESIS},${event.hash}\r\n`);
  });
});
