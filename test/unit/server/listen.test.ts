// Binding a stream listener: the port bound comes back, an address in use is an error (never a
// silent share), and the deadline-check interval stays within 100 ms to 1 s.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deadlineCheckInterval, listenOn } from '../../../src/server/listen.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function server(): Server {
  const s = createServer();
  servers.push(s);
  return s;
}

describe('listenOn', () => {
  it('resolves with the port bound (any, for 0) and rejects an address already in use', async () => {
    const port = await listenOn(server(), { host: '127.0.0.1', port: 0, family: 4 }, 0);
    expect(port).toBeGreaterThan(0);
    await expect(listenOn(server(), { host: '127.0.0.1', port, family: 4 }, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('binds IPv6 only for an IPv6 address', async () => {
    const s = server();
    const port = await listenOn(s, { host: '::1', port: 0, family: 6 }, 0);
    expect(s.address()).toMatchObject({ address: '::1', family: 'IPv6', port });
  });
});

describe('deadlineCheckInterval', () => {
  it('checks a quarter of the deadline, within 100 ms and 1 s', () => {
    expect([deadlineCheckInterval(100), deadlineCheckInterval(2000), deadlineCheckInterval(60_000)]).toEqual([100, 500, 1000]);
  });
});
