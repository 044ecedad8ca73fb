// Holds the network lists in force (lists/<name>.networks) for those who publish them: the feed,
// in the replica's thread and in the feed thread. The policy gets them from PolicyControl; this
// holder only tells the feed when the set changed (start, reload).
import { EventEmitter } from 'node:events';
import type { NetworkListSnapshot } from './network-list.ts';

export class NetworkListRegistry {
  private lists = new Map<string, NetworkListSnapshot>();
  private readonly events = new EventEmitter();

  get(name: string): NetworkListSnapshot | undefined {
    return this.lists.get(name);
  }

  all(): NetworkListSnapshot[] {
    return [...this.lists.keys()].sort().map((name) => this.lists.get(name) as NetworkListSnapshot);
  }

  /** Replaces the whole set; notifies once when any list was added, removed or has a new version. */
  replace(lists: readonly NetworkListSnapshot[]): void {
    const next = new Map(lists.map((l) => [l.name, l]));
    const same = next.size === this.lists.size && [...next].every(([name, l]) => this.lists.get(name)?.version === l.version);
    this.lists = next;
    if (!same) this.events.emit('change');
  }

  onChange(listener: () => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }
}
