// A decision as flat values, the way it crosses from a DNS worker to the main thread (the
// block-log worker gets decisions through decision-ring.ts): a tuple clones faster than an
// object with names. Its own module: importing audit/worker.ts would run that worker.
import type { Decision } from './types.ts';

export type PackedDecision = [number, string, string, 0 | 1, string, number, Decision['action'], string, string, string, Decision['response'], Decision['transport']];

export function packDecision(d: Decision): PackedDecision {
  return [d.ts, d.segment, d.client, d.pseudonymize ? 1 : 0, d.qname, d.qtype, d.action, d.list, d.rule, d.listVersion, d.response, d.transport];
}

export function unpackDecision(p: PackedDecision): Decision {
  return { ts: p[0], segment: p[1], client: p[2], pseudonymize: p[3] === 1, qname: p[4], qtype: p[5], action: p[6], list: p[7], rule: p[8], listVersion: p[9], response: p[10], transport: p[11] };
}
