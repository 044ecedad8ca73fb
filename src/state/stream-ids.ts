// Event ids of the fleet-wide stream: a stream entry holds one span of a replica's events, so an
// event is named by its entry's id and its index in it: "<ms>-<n>/<k>".

/** Splits an event id; undefined when it is not one. */
export function parseEventId(id: string): { entry: string; ms: number; n: number; k: number } | undefined {
  const m = /^(\d+)-(\d+)\/(\d+)$/.exec(id);
  if (!m) return undefined;
  return { entry: `${m[1]}-${m[2]}`, ms: Number(m[1]), n: Number(m[2]), k: Number(m[3]) };
}

/** Orders two event ids. */
export function compareEventIds(a: string, b: string): number {
  const x = parseEventId(a);
  const y = parseEventId(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x.ms - y.ms || x.n - y.n || x.k - y.k;
}

/** An id just before every event that reached the stream at or after `ms`. */
export function idBeforeTime(ms: number): string {
  return ms > 0 ? `${ms - 1}-9007199254740991/9007199254740991` : '';
}
