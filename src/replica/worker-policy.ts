// A policy snapshot on its way to the DNS worker threads (src/replica/dns-workers.ts). The
// main thread builds and validates every snapshot; each worker gets the plain config parts
// and the lists' sets as SharedArrayBuffers (DomainSet.share(): the names' bytes exist once,
// whatever the number of workers), builds its own snapshot around them and installs it.
import { DomainSet, type SharedSetParts } from '../lists/domain-set.ts';
import { buildPolicySnapshot, type PolicyInput, type PolicySnapshot, type SnapshotDeps } from './../policy/snapshot.ts';

/** Structured-cloneable: postMessage copies the config parts and shares the sets' memory. */
export interface WirePolicy {
  /** The main thread's generation of this policy (what stats and logs report). */
  readonly generation: number;
  readonly input: Omit<PolicyInput, 'lists'>;
  readonly lists: readonly { name: string; version: string; set: SharedSetParts }[];
}

/** The parts of `policy` a worker needs; moves its sets onto shared memory (once per set). */
export function policyForWorkers(policy: PolicySnapshot): WirePolicy {
  const { lists, networkLists, ...rest } = policy.input;
  return {
    generation: policy.generation,
    input: { ...rest, networkLists: networkLists.map((l) => ({ name: l.name, version: l.version, networks: l.networks })) },
    lists: lists.map((l, i) => ({ name: l.name, version: l.version, set: (policy.matcher.sets[i] as DomainSet).share() })),
  };
}

/** The worker's own snapshot of a policy the main thread built (already validated there). */
export function policyFromMain(wire: WirePolicy, deps: SnapshotDeps): PolicySnapshot {
  const lists = wire.lists.map((l) => ({ name: l.name, version: l.version, domains: [], set: DomainSet.fromShared(l.set) }));
  return buildPolicySnapshot({ ...wire.input, lists }, deps);
}
