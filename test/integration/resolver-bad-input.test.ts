// Bad input over real sockets never takes the resolver down: short datagrams and
// responses are dropped, malformed queries get FORMERR, other opcodes NOTIMP; TCP framing
// across segments, pipelining and idle-connection closing.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, exchangeTcp, queryUdp, sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

let upstream: StubUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await new StubUpstream().start();
  server = await startTestServer(testConfig(upstream.port, { dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.0/8'], tcp_idle_timeout_ms: 300 } }));
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

async function stillAnswers(): Promise<void> {
  const reply = await queryUdp(server.port, { name: 'alive.example' });
  expect(reply.rcode).toBe(0);
}

describe('malformed UDP queries', () => {
  it('drops datagrams too short to hold a header', async () => {
    for (const size of [0, 1, 11]) expect(await sendUdp(server.port, Buffer.alloc(size, 7), { timeoutMs: 200 })).toBeUndefined();
    await stillAnswers();
  });

  it('drops responses (QR=1) so it cannot be used for reflection loops', async () => {
    const query = buildQuery({ name: 'example.org' });
    query.writeUInt16BE(query.readUInt16BE(2) | 0x8000, 2);
    expect(await sendUdp(server.port, query, { timeoutMs: 200 })).toBeUndefined();
    await stillAnswers();
  });

  it('answers FORMERR for no question, two questions, or a malformed name', async () => {
    const noQuestion = buildQuery({ name: 'example.org' }).subarray(0, 12);
    noQuestion.writeUInt16BE(0, 4);
    const twoQuestions = Buffer.from(buildQuery({ name: 'example.org' }));
    twoQuestions.writeUInt16BE(2, 4);
    const badLabel = Buffer.from(buildQuery({ name: 'example.org' }));
    badLabel[12] = 0x45; // label length 69 > 63
    const truncatedName = buildQuery({ name: 'example.org' }).subarray(0, 16);
    for (const message of [noQuestion, twoQuestions, badLabel, truncatedName]) {
      const reply = decode((await sendUdp(server.port, message)) as Buffer);
      expect(reply.rcode).toBe(1);
      expect(reply.raw.readUInt16BE(0)).toBe(message.readUInt16BE(0));
    }
    await stillAnswers();
  });

  it('answers NOTIMP for opcodes other than QUERY', async () => {
    const status = Buffer.from(buildQuery({ name: 'example.org' }));
    status.writeUInt16BE((2 << 11) | 0x0100, 2);
    const reply = decode((await sendUdp(server.port, status)) as Buffer);
    expect(reply.rcode).toBe(4);
  });

  it('survives a burst of random garbage', async () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const { createSocket } = await import('node:dgram');
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < 2000; i++) {
      const base = i % 2 === 0 ? buildQuery({ name: `g${i}.example` }) : Buffer.alloc(12 + (random() % 200));
      for (let j = 0; j < 1 + (random() % 8); j++) base[random() % base.length] = random() & 0xff;
      socket.send(base, server.port, '127.0.0.1');
    }
    await new Promise((r) => setTimeout(r, 300));
    socket.close();
    await stillAnswers();
    expect(server.app.resolver.stats().internalErrors).toBe(0);
  });
});

describe('TCP (RFC 7766)', () => {
  it('answers pipelined queries on one connection', async () => {
    const queries = Array.from({ length: 20 }, (_, i) => buildQuery({ name: `pipe${i}.example`, id: 1000 + i }));
    const replies = await exchangeTcp(server.port, queries);
    expect(replies.map((r) => r.readUInt16BE(0)).sort()).toEqual(queries.map((q) => q.readUInt16BE(0)).sort());
  });

  it('reassembles a message split across many segments', async () => {
    const query = buildQuery({ name: 'split.example', id: 7 });
    const framed = Buffer.concat([Buffer.from([0, query.length]), query]);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      let data = Buffer.alloc(0);
      socket.on('connect', async () => {
        for (const byte of framed) {
          socket.write(Buffer.from([byte]));
          await new Promise((r) => setTimeout(r, 2));
        }
      });
      socket.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          socket.destroy();
          resolve(data.subarray(2));
        }
      });
      socket.on('error', reject);
    });
    expect(decode(reply).rcode).toBe(0);
    expect(reply.readUInt16BE(0)).toBe(7);
  });

  it('closes idle connections', async () => {
    const closedAfter = await new Promise<number>((resolve) => {
      const started = Date.now();
      const socket = connect(server.port, '127.0.0.1');
      socket.on('close', () => resolve(Date.now() - started));
      socket.on('error', () => undefined);
    });
    expect(closedAfter).toBeGreaterThanOrEqual(250);
    expect(closedAfter).toBeLessThan(2000);
  });

  it('answers queries sent before the client half-closes', async () => {
    const replies = await new Promise<Buffer[]>((resolve, reject) => {
      const socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
      const got: Buffer[] = [];
      let data = Buffer.alloc(0);
      socket.on('connect', () => {
        const q = buildQuery({ name: 'halfclose.example' });
        socket.end(Buffer.concat([Buffer.from([0, q.length]), q]));
      });
      socket.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
        while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          got.push(data.subarray(2, 2 + data.readUInt16BE(0)));
          data = data.subarray(2 + data.readUInt16BE(0));
        }
      });
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
    });
    expect(replies).toHaveLength(1);
    expect(decode(replies[0] as Buffer).rcode).toBe(0);
  });

  it('closes a connection that sends a zero-length frame', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('connect', () => socket.write(Buffer.from([0, 0])));
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
    });
    expect(closed).toBe(true);
    await stillAnswers();
  });
});
