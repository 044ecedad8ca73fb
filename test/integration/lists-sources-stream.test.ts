// A subscribed source streamed from a real HTTP server on 127.0.0.1 into its set and onto disk:
// a body of several MB sent in pieces that cut lines (and the parser's 1 MB reads) in the
// middle, CRLF line ends, a bad line reported with its URL and line number, the last good copy
// on disk byte for byte the body, a transfer cut short never replacing it, and a restart
// loading that copy again.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listsSection } from '../../src/config/sections/lists.ts';
import { ListRegistry } from '../../src/lists/registry.ts';
import { startListSources } from '../../src/lists/sources.ts';
import { captureLogs } from '../helpers/capture-logs.ts';

const BAD_LINE = 50_001;
const lines: string[] = ['# Title: Streamed'];
for (let i = 0; lines.length < 120_000; i++) lines.push(lines.length + 1 === BAD_LINE ? '0.0.0.0 bad..name' : `0.0.0.0 host${i}.stream${i % 31}.example.com`);
const BODY = Buffer.from(`${lines.join('\r\n')}\r\n`);
const NAMES = lines.length - 2;
/** The name on the line that the parser's first 1 MB read cuts in two. */
const CUT_AT = 1 << 20;
const cutLine = BODY.toString('latin1', BODY.lastIndexOf(10, CUT_AT - 1) + 1, BODY.indexOf(10, CUT_AT)).trim().split(' ')[1] as string;

let mode: 'whole' | 'cut' | 'same' = 'whole';
let server: Server;
let url: string;
const { logger, lines: logs } = captureLogs();

/** Sends the body in pieces of odd sizes (each cuts a line), letting each go out before the next. */
async function sendInPieces(res: ServerResponse, upTo: number): Promise<void> {
  for (let at = 0; at < upTo; ) {
    const next = Math.min(upTo, at + 200_003);
    if (!res.write(BODY.subarray(at, next))) await new Promise((r) => res.once('drain', r));
    await new Promise((r) => setImmediate(r));
    at = next;
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (mode === 'same' && req.headers['if-none-match'] === '"s1"') return void res.writeHead(304, { etag: '"s1"' }).end();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length, etag: '"s1"' });
    if (mode === 'cut') {
      // Half the declared length, then the connection drops.
      void sendInPieces(res, BODY.length >> 1).then(() => res.socket?.destroy());
      return;
    }
    void sendInPieces(res, BODY.length).then(() => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/streamed.txt`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a source streamed over HTTP', () => {
  it('loads every name across cut lines and CRLF, names a bad line by URL and line, keeps the body on disk, survives a cut transfer and a restart', async () => {
    expect(BODY.length).toBeGreaterThan(3 * CUT_AT);
    expect(BODY[CUT_AT - 1]).not.toBe(10);
    const cacheDir = await mkdtemp(join(tmpdir(), 'dnsward-stream-'));
    const config = listsSection.parse({ dir: 'lists', cache_dir: cacheDir, sources: [{ name: 'streamed', url }], max_source_bytes: 16 * 1024 * 1024 });
    mode = 'whole';
    const registry = new ListRegistry();
    const sources = await startListSources(config, registry, logger, { initialTimeoutMs: 60_000 });
    let version: string | undefined;
    try {
      const snapshot = registry.get('streamed');
      version = snapshot?.version;
      expect(snapshot?.title).toBe('Streamed');
      expect(snapshot?.set?.size).toBe(NAMES);
      for (const name of ['host0.stream0.example.com', cutLine, `host${NAMES}.stream${NAMES % 31}.example.com`]) expect(snapshot?.set?.has(name), name).toBe(true);
      expect(snapshot?.set?.has('bad..name')).toBe(false);
      const loaded = logs.find((l) => l.source === 'streamed' && l.msg === 'list source loaded');
      expect(loaded).toMatchObject({ entries: NAMES, invalid: 1, invalid_samples: [`${url}:${BAD_LINE}: bad..name`] });
      // The last good copy is the body as served, and the download file is gone (renamed into it).
      expect((await readFile(join(cacheDir, 'streamed.txt'))).equals(BODY)).toBe(true);
      expect((await readdir(cacheDir)).sort()).toEqual(['streamed.meta.json', 'streamed.txt']);

      mode = 'cut';
      await sources.refresh();
      expect(sources.status().streamed?.lastOutcome).toBe('failed');
      expect(registry.get('streamed')).toBe(snapshot);
      expect((await readFile(join(cacheDir, 'streamed.txt'))).equals(BODY)).toBe(true);
      expect((await readdir(cacheDir)).sort()).toEqual(['streamed.meta.json', 'streamed.txt']);
    } finally {
      await sources.stop();
    }

    // A restart reads the copy on disk (in chunks, like a download), then the origin says 304.
    mode = 'same';
    const again = new ListRegistry();
    const restarted = await startListSources(config, again, logger, { initialTimeoutMs: 60_000 });
    try {
      await restarted.refresh();
      expect(again.get('streamed')?.version).toBe(version);
      expect(again.get('streamed')?.set?.size).toBe(NAMES);
      expect(again.get('streamed')?.set?.has(cutLine)).toBe(true);
      expect(restarted.status().streamed?.lastOutcome).toBe('unchanged');
      expect(logs.filter((l) => l.source === 'streamed' && l.outcome === 'cached')).toMatchObject([{ invalid_samples: [`${join(cacheDir, 'streamed.txt')}:${BAD_LINE}: bad..name`] }]);
    } finally {
      await restarted.stop();
    }
  }, 120_000);
});
