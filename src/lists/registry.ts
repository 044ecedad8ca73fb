// Holds the current snapshot of every list and tells subscribers when one is swapped.
// Swapping is one map write: readers always see a whole snapshot, never a half-loaded one.
import { EventEmitter } from 'node:events';
import type { ListSnapshot } from './types.ts';

export class ListRegistry {
  private readonly snapshots = new Map<string, ListSnapshot>();
  private readonly events = new EventEmitter();

  get(name: string): ListSnapshot | undefined {
    return this.snapshots.get(name);
  }

  names(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  all(): ListSnapshot[] {
    return this.names().map((name) => this.snapshots.get(name) as ListSnapshot);
  }

  /** Installs a new snapshot (or the first one) and notifies subscribers. */
  set(snapshot: ListSnapshot): void {
    const previous = this.snapshots.get(snapshot.name);
    if (previous && previous.version === snapshot.version) return;
    this.snapshots.set(snapshot.name, snapshot);
    this.events.emit('change', snapshot);
  }

  /** Removes a list (no longer configured) and notifies subscribers. */
  remove(name: string): void {
    const previous = this.snapshots.get(name);
    if (previous === undefined) return;
    this.snapshots.delete(name);
    this.events.emit('change', previous);
  }

  onChange(listener: (snapshot: ListSnapshot) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }
}
