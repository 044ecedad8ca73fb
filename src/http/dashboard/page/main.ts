// The dashboard page: asks for a token once (kept in sessionStorage), proves it with the
// summary before showing anything, then loads the block log page, the charts and the fleet
// panel. A 401/403 anywhere empties the page and says why. body[data-state] tells a watcher
// (and the browser test) what the page is doing: login, loading, ready or error.
import { ApiError, AuthError, get, getJson, session } from './api.ts';
import { renderChart } from './chart.ts';
import { byId, el } from './dom.ts';
import {
  chartSeries,
  chooseBucket,
  countCsvRecords,
  csvFileName,
  FILTER_KEYS,
  FilterError,
  type FilterForm,
  filterParams,
  type FleetView,
  fleetFromContract,
  fleetFromReadyz,
  HOUR_MS,
  isoToUtcInput,
  joinCsvPages,
  printable,
  type TimelineDimension,
} from './model.ts';
import { type EventRow, renderEventHeader, renderEvents, renderFleet } from './views.ts';

/** Rows per CSV request (the API's maximum) and how many requests one export may make. */
const EXPORT_PAGE = 1000;
const EXPORT_MAX_PAGES = 100;

interface Summary {
  total: number;
  by_segment: Record<string, number>;
  by_action: Record<string, number>;
  by_list: Record<string, number>;
}

interface Timeline {
  bucket: 'hour' | 'day';
  buckets: string[];
  truncated: boolean;
  counted_to: string | null;
  by: { segment?: TimelineDimension; list?: TimelineDimension };
}

interface EventsPage {
  events: EventRow[];
  next: string | null;
}

const ui = {
  login: byId('login'),
  loginForm: byId<HTMLFormElement>('login-form'),
  token: byId<HTMLInputElement>('token'),
  loginError: byId('login-error'),
  logout: byId<HTMLButtonElement>('logout'),
  data: byId('data'),
  filters: byId<HTMLFormElement>('filters'),
  defaults: byId<HTMLButtonElement>('defaults'),
  status: byId('status'),
  totals: byId('totals'),
  segments: byId('segments'),
  lists: byId('lists'),
  chartSegment: byId('chart-segment'),
  chartList: byId('chart-list'),
  thead: byId<HTMLTableSectionElement>('events-head'),
  tbody: byId<HTMLTableSectionElement>('events-body'),
  prev: byId<HTMLButtonElement>('prev'),
  next: byId<HTMLButtonElement>('next'),
  pageInfo: byId('page-info'),
  exportCsv: byId<HTMLButtonElement>('export'),
  fleet: byId('fleet-body'),
};

/** The applied filter's API parameters, the cursor of every page seen, and a counter that drops stale answers. */
let params = new URLSearchParams();
let cursors: (string | null)[] = [null];
let generation = 0;

function setState(state: 'login' | 'loading' | 'ready' | 'error'): void {
  document.body.dataset.state = state;
}

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  ui.status.textContent = text;
  ui.status.className = kind;
}

function clearData(): void {
  for (const node of [ui.tbody, ui.totals, ui.segments, ui.lists, ui.chartSegment, ui.chartList, ui.fleet, ui.pageInfo]) node.replaceChildren();
  say('');
}

function showLogin(reason: string): void {
  generation++;
  session.forget();
  clearData();
  ui.data.hidden = true;
  ui.logout.hidden = true;
  ui.login.hidden = false;
  ui.loginError.textContent = reason;
  ui.token.value = '';
  ui.token.focus();
  setState('login');
}

function fail(error: unknown): void {
  if (error instanceof AuthError) return showLogin(error.message);
  say(error instanceof ApiError || error instanceof FilterError ? error.message : `Unexpected error: ${(error as Error).message}`, 'error');
  setState('error');
}

/** Shows a panel's own failure in the panel, so the rest of the page stays usable; auth failures go up. */
function panelError(container: HTMLElement, error: unknown): void {
  if (error instanceof AuthError) throw error;
  container.replaceChildren(el('p', { class: 'error' }, error instanceof Error ? error.message : String(error)));
}

function readForm(): FilterForm {
  const data = new FormData(ui.filters);
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, String(data.get(k) ?? '')])) as FilterForm;
}

function pageSize(): number {
  return Number(new FormData(ui.filters).get('limit') ?? 100) || 100;
}

function setDefaults(): void {
  ui.filters.reset();
  (ui.filters.elements.namedItem('from') as HTMLInputElement).value = isoToUtcInput(Date.now() - 24 * HOUR_MS);
}

function renderSummary(summary: Summary): void {
  const parts = Object.entries(summary.by_action).map(([action, n]) => `${printable(action)} ${n}`);
  ui.totals.replaceChildren(el('strong', {}, `${summary.total} events`), parts.length ? ` (${parts.join(', ')})` : '', ' in this range');
  ui.segments.replaceChildren(...Object.keys(summary.by_segment).map((s) => el('option', { value: s })));
  ui.lists.replaceChildren(...Object.keys(summary.by_list).map((l) => el('option', { value: l })));
}

async function loadPage(index: number, mine: number): Promise<void> {
  const query = new URLSearchParams(params);
  const size = pageSize();
  query.set('limit', String(size));
  const cursor = cursors[index];
  if (cursor) query.set('cursor', cursor);
  const page = await getJson<EventsPage>('/api/audit/events', query);
  if (mine !== generation) return;
  renderEvents(ui.tbody, page.events);
  cursors = [...cursors.slice(0, index + 1), page.next];
  ui.prev.disabled = index === 0;
  ui.next.disabled = page.next === null;
  ui.prev.dataset.page = String(index - 1);
  ui.next.dataset.page = String(index + 1);
  const first = index * size + 1;
  ui.pageInfo.textContent = page.events.length === 0 ? `Page ${index + 1}` : `Page ${index + 1}: events ${first}–${first + page.events.length - 1}`;
}

async function loadCharts(mine: number): Promise<void> {
  const query = new URLSearchParams(params);
  query.set('bucket', chooseBucket(params, Date.now()));
  query.set('by', 'segment,list');
  try {
    const timeline = await getJson<Timeline>('/api/audit/timeline', query);
    if (mine !== generation) return;
    renderChart(ui.chartSegment, 'Events per segment', chartSeries(timeline.by.segment), timeline.buckets, timeline.bucket);
    renderChart(ui.chartList, 'Events per list', chartSeries(timeline.by.list), timeline.buckets, timeline.bucket);
    if (timeline.truncated) ui.chartList.append(el('p', { class: 'warn' }, `Counting stopped at ${timeline.counted_to ?? '?'}: too many events; narrow the range.`));
  } catch (error) {
    panelError(ui.chartSegment, error);
    ui.chartList.replaceChildren();
  }
}

/**
 * The fleet view (GET /api/fleet) when the server has it and the token may read it; else this
 * replica's /readyz, and the panel says why. A 403 here only costs the fleet view, not the session.
 */
async function loadFleet(mine: number): Promise<void> {
  try {
    let view: FleetView;
    try {
      view = fleetFromContract(await getJson('/api/fleet', undefined, { forbiddenIsOptional: true }));
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 403))) throw error;
      const why = error.status === 404 ? 'this server has no GET /api/fleet' : 'this token may not read GET /api/fleet (403)';
      view = fleetFromReadyz(await getJson('/readyz', undefined, { auth: false }), why);
    }
    if (mine === generation) renderFleet(ui.fleet, view);
  } catch (error) {
    panelError(ui.fleet, error);
  }
}

/** Applies the filter: the summary first (it proves the token), then everything else at once. */
async function refresh(): Promise<void> {
  const mine = ++generation;
  setState('loading');
  say('Loading…');
  try {
    params = filterParams(readForm());
    cursors = [null];
    const summary = await getJson<Summary>('/api/audit/summary', params);
    if (mine !== generation) return;
    ui.login.hidden = true;
    ui.loginError.textContent = '';
    ui.data.hidden = false;
    ui.logout.hidden = false;
    renderSummary(summary);
    await Promise.all([loadPage(0, mine), loadCharts(mine), loadFleet(mine)]);
    if (mine !== generation) return;
    say('');
    setState('ready');
  } catch (error) {
    if (mine === generation || error instanceof AuthError) fail(error);
  }
}

async function goToPage(index: number): Promise<void> {
  const mine = ++generation;
  setState('loading');
  try {
    await loadPage(index, mine);
    if (mine === generation) setState('ready');
  } catch (error) {
    fail(error);
  }
}

/** Fetches every matching event as CSV (page by page, the token in the header) and saves it from a Blob. */
async function exportCsv(): Promise<void> {
  ui.exportCsv.disabled = true;
  say('Exporting…');
  try {
    const pages: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < EXPORT_MAX_PAGES; i++) {
      const query = new URLSearchParams(params);
      query.set('format', 'csv');
      query.set('limit', String(EXPORT_PAGE));
      if (cursor) query.set('cursor', cursor);
      const response = await get('/api/audit/events', query, { accept: 'text/csv' });
      pages.push(await response.text());
      cursor = response.headers.get('x-next-cursor');
      if (!cursor) break;
    }
    const text = joinCsvPages(pages);
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
    const link = el('a', { href: url, download: csvFileName(Date.now()), hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    const more = cursor ? ` The export stops at ${(EXPORT_MAX_PAGES * EXPORT_PAGE).toLocaleString('en')} events: narrow the filter, or use dnsward audit export.` : '';
    say(`Exported ${countCsvRecords(text)} events.${more}`);
  } catch (error) {
    fail(error);
  } finally {
    ui.exportCsv.disabled = false;
  }
}

function start(): void {
  renderEventHeader(ui.thead);
  setDefaults();
  ui.loginForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = ui.token.value.trim();
    ui.token.value = '';
    if (token === '') return;
    session.save(token);
    void refresh();
  });
  ui.logout.addEventListener('click', () => showLogin('The token is forgotten. Enter it again to continue.'));
  ui.filters.addEventListener('submit', (event) => {
    event.preventDefault();
    void refresh();
  });
  ui.defaults.addEventListener('click', () => {
    setDefaults();
    void refresh();
  });
  ui.prev.addEventListener('click', () => void goToPage(Number(ui.prev.dataset.page)));
  ui.next.addEventListener('click', () => void goToPage(Number(ui.next.dataset.page)));
  ui.exportCsv.addEventListener('click', () => void exportCsv());
  if (session.token() !== null) void refresh();
  else showLogin('');
}

start();
