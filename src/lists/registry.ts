// Holds the current snapshot of every list and tells subscribers when one is swapped.
// Swapping is one map write: readers always see a whole snapshot, never a half-loaded one.
// An overlay (the organisation's own entries, src/fleet/overlay.ts) may sit on top: set()
// keeps the snapshot it is given as the list's base, and stores the base with the overlay
// applied; reapply() rebuilds a list after the overlay changed.
import { EventEmitter } from 'node:events';
import type { ListSnapshot } from './types.ts';

/** Turns a list's base snapshot into the one enforced and served (the base itself when nothing is added). */
export type ListOverlay = (base: ListSnapshot) => ListSnapshot;

export class ListRegistry {
  private readonly snapshots = new Map<string, ListSnapshot>();
  private readonly bases = new Map<string, ListSnapshot>();
  private readonly events = new EventEmitter();
  private overlay: ListOverlay | undefined;

  get(name: string): ListSnapshot | undefined {
    return this.snapshots.get(name);
  }

  /** The snapshot as loaded (file or source), without the overlay. */
  base(name: string): ListSnapshot | undefined {
    return this.bases.get(name);
  }

  names(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  all(): ListSnapshot[] {
    return this.names().map((name) => this.snapshots.get(name) as ListSnapshot);
  }

  /** Installs a new snapshot (or the first one) and notifies subscribers. */
  set(snapshot: ListSnapshot): void {
    this.bases.set(snapshot.name, snapshot);
    this.install(this.withOverlay(snapshot));
  }

  /** Removes a list (no longer configured) and notifies subscribers. */
  remove(name: string): void {
    const previous = this.snapshots.get(name);
    this.bases.delete(name);
    if (previous === undefined) return;
    this.snapshots.delete(name);
    this.events.emit('change', previous);
  }

  /** Sets the overlay; lists already installed get it with reapply(). */
  setOverlay(overlay: ListOverlay | undefined): void {
    this.overlay = overlay;
  }

  /** A base snapshot with the overlay applied (not installed): what set() would install. */
  withOverlay(base: ListSnapshot): ListSnapshot {
    return this.overlay ? this.overlay(base) : base;
  }

  /** Rebuilds the named lists (all when absent) from their bases after the overlay changed. */
  reapply(names: readonly string[] = [...this.bases.keys()]): void {
    for (const name of names) {
      const base = this.bases.get(name);
      if (base) this.install(this.withOverlay(base));
    }
  }

  onChange(listener: (snapshot: ListSnapshot) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  private install(snapshot: ListSnapshot): void {
    const previous = this.snapshots.get(snapshot.name);
    if (previous && previous.version === snapshot.version) return;
    this.snapshots.set(snapshot.name, snapshot);
    this.events.emit('change', snapshot);
  }
}
