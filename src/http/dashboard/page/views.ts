// The page's tables: the block log page and the fleet panel. Every value is a text node,
// made printable first (model.ts), so a qname such as "<b>x</b>.tiktok.com" shows as itself.
import { el } from './dom.ts';
import { type FleetView, printable } from './model.ts';

/** The block log columns: [event member, header, is a name from the wire]. */
export const EVENT_COLUMNS = [
  ['ts', 'Time (UTC)', false],
  ['instance', 'Replica', false],
  ['segment', 'Segment', false],
  ['client', 'Client', false],
  ['qname', 'Domain', true],
  ['qtype', 'Type', false],
  ['action', 'Action', false],
  ['list', 'List', false],
  ['rule', 'Rule', true],
  ['list_version', 'List version', false],
  ['response', 'Response', false],
] as const;

export type EventRow = Partial<Record<(typeof EVENT_COLUMNS)[number][0], unknown>>;

function cellText(value: unknown, wire: boolean): string {
  return value === undefined || value === null ? '' : printable(String(value), wire);
}

export function renderEventHeader(thead: HTMLTableSectionElement): void {
  thead.replaceChildren(el('tr', {}, ...EVENT_COLUMNS.map(([key, header]) => el('th', { scope: 'col', 'data-col': key }, header))));
}

export function renderEvents(tbody: HTMLTableSectionElement, events: EventRow[]): void {
  if (events.length === 0) {
    tbody.replaceChildren(el('tr', { class: 'none' }, el('td', { colspan: EVENT_COLUMNS.length }, 'No events match.')));
    return;
  }
  tbody.replaceChildren(
    ...events.map((e) => el('tr', { class: `event ${e.action === 'blocked' ? 'blocked' : 'logged'}` }, ...EVENT_COLUMNS.map(([key, , wire]) => el('td', { 'data-col': key }, cellText(e[key], wire))))),
  );
}

export function renderFleet(container: HTMLElement, view: FleetView): void {
  const replicas = el(
    'table',
    { id: 'replicas' },
    el('caption', {}, 'Replicas'),
    el('thead', {}, el('tr', {}, ...['Replica', 'dnsward', 'Lists', 'Last heartbeat', 'Redis', 'Block log'].map((h) => el('th', { scope: 'col' }, h)))),
    el(
      'tbody',
      {},
      ...view.replicas.map((r) =>
        el(
          'tr',
          { class: r.self ? 'self' : undefined },
          el('td', {}, printable(r.instance), r.self ? ' (this one)' : ''),
          el('td', {}, printable(r.version)),
          el('td', {}, r.lists.map((l) => `${printable(l.name)} ${printable(l.version)}`).join(', ') || '—'),
          el('td', {}, printable(r.lastHeartbeat)),
          el('td', {}, printable(r.redis)),
          el('td', {}, r.audit),
        ),
      ),
    ),
  );
  const lists = el(
    'table',
    { id: 'list-versions' },
    el('caption', {}, 'List versions'),
    el('thead', {}, el('tr', {}, ...['List', 'Version', 'Entries', 'Replicas'].map((h) => el('th', { scope: 'col' }, h)))),
    el(
      'tbody',
      {},
      ...view.lists.flatMap((l) =>
        l.versions.map((v) =>
          el('tr', { class: l.versions.length > 1 ? 'differs' : undefined, 'data-list': l.name }, el('td', {}, printable(l.name)), el('td', {}, printable(v.version)), el('td', {}, String(v.entries)), el('td', {}, v.instances.map((i) => printable(i)).join(', '))),
        ),
      ),
    ),
  );
  const status =
    view.consistent === false
      ? el('p', { class: 'warn' }, 'The replicas do not run the same list versions.')
      : view.consistent === true
        ? el('p', { class: 'ok' }, 'Every replica runs the same list versions.')
        : null;
  const degraded = view.degraded.length > 0 ? el('ul', { class: 'warn' }, ...view.degraded.map((d) => el('li', {}, printable(d)))) : null;
  container.replaceChildren(...[el('p', { id: 'fleet-source', 'data-source': view.source }, view.note), status, degraded, replicas, lists].filter((n) => n !== null));
}
