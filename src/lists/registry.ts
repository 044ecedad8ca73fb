// Holds the current snapshot of every list and tells subscribers when one is swapped.
// Swapping is one map write: readers always see a whole snapshot, never a half-loaded one.
// An overlay (the organisation's own entries, src/fleet/overlay.ts) may sit on top: set()
// keeps the snapshot it is given as the list's base, and stores the base with the overlay
// applied; reapply() rebuilds a list after the overlay changed. The collateral guard
// (never-block.txt, src/lists/guard.ts) comes last: whatever a list holds, shipped, subscribed or
// added by the organisation, its entries that would block shared infrastructure are dropped.
import { EventEmitter } from 'node:events';
import { applyNeverBlock, CollateralGuard, type GuardLogger, type NeverBlock } from './guard.ts';
import type { ListSnapshot } from './types.ts';

/** Turns a list's base snapshot into the one enforced and served (the base itself when nothing is added). */
export type ListOverlay = (base: ListSnapshot) => ListSnapshot;

export class ListRegistry {
  private readonly snapshots = new Map<string, ListSnapshot>();
  private readonly bases = new Map<string, ListSnapshot>();
  private readonly events = new EventEmitter();
  private overlay: ListOverlay | undefined;
  private guard: CollateralGuard | undefined;

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

  /**
   * Sets never-block.txt as read (at start, and on a reload before the lists are set); lists
   * already installed get it with reapply(). Drops are logged with `log` once per list version.
   */
  setNeverBlock(neverBlock: NeverBlock, log?: GuardLogger): void {
    this.guard = this.guard ? this.guard.withNeverBlock(neverBlock) : new CollateralGuard(neverBlock, log);
  }

  /** The names whose whole subtree the guard protects (sources.ts has its parser report names under them). */
  guardedSubtrees(): readonly string[] {
    return this.guard?.neverBlock.subtrees ?? [];
  }

  /**
   * A base snapshot as set() would install it (not installed): the overlay applied, then the
   * guard. `neverBlock` checks a candidate against a never-block file not in force yet (a reload).
   */
  withOverlay(base: ListSnapshot, neverBlock?: NeverBlock): ListSnapshot {
    const overlaid = this.overlay ? this.overlay(base) : base;
    if (neverBlock) return applyNeverBlock(overlaid, neverBlock);
    return this.guard ? this.guard.apply(overlaid) : overlaid;
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
