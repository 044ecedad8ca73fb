// The package entry (`import { createPolicyEngine } from 'dnsward'`): the policy engine and
// the types of its verdicts. It loads neither dns2 nor fastify: the plugins for those are
// their own entries, 'dnsward/dns2' and 'dnsward/fastify', for hosts that have them.
export type { Decision, DecisionAction, DecisionResponse, DecisionSink, DecisionTransport } from '../audit/types.ts';
export type { Config } from '../config/schema.ts';
export { DnswardError, type ErrorCode, ErrorCodes } from '../errors.ts';
export type { ReloadResult } from '../http/deps.ts';
export type { ListRegistry } from '../lists/registry.ts';
export type { ListSnapshot } from '../lists/types.ts';
export type { QueryCount } from '../pipeline/counters.ts';
export type { PolicySnapshot } from '../policy/snapshot.ts';
export { VERSION } from '../version.ts';
export { type ConfigSections, LISTS_DIR } from './config.ts';
export type { AnswerOutcome, AnswerVerdict, PolicyVerdict } from './decider.ts';
export { type CheckOptions, createPolicyEngine, PolicyEngine, type PolicyEngineOptions } from './engine.ts';
