// A tiny UDP DNS client for readiness checks and load-time probes (loopback only).
import { createSocket, type Socket } from 'node:dgram';

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;
const QTYPES: Record<string, number> = { A: 1, AAAA: 28 };

export function buildQuery(id: number, name: string, type: 'A' | 'AAAA'): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const qname = Buffer.alloc(labels.reduce((n, l) => n + l.length + 1, 1));
  let o = 0;
  for (const label of labels) {
    qname[o++] = label.length;
    o += qname.write(label, o, 'ascii');
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(QTYPES[type] ?? 1, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, qname, tail]);
}

export function assertLoopback(host: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== '::1') throw new Error(`refusing to send to ${host}: the bench only talks to loopback`);
}

export interface ProbeResult {
  rcode: string;
  ms: number;
}

/** One probe client: queries one at a time, `undefined` on timeout. */
export class Prober {
  private readonly socket: Socket;
  private pending: { id: number; resolve: (r: ProbeResult | undefined) => void; start: bigint } | undefined;
  private readonly ready: Promise<void>;

  constructor() {
    this.socket = createSocket('udp4');
    this.ready = new Promise((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket.on('message', (msg) => {
      const p = this.pending;
      if (!p || msg.length < 12 || msg.readUInt16BE(0) !== p.id) return;
      this.pending = undefined;
      const rcode = RCODES[msg.readUInt8(3) & 0x0f] ?? `RCODE${msg.readUInt8(3) & 0x0f}`;
      p.resolve({ rcode, ms: Number(process.hrtime.bigint() - p.start) / 1e6 });
    });
    this.socket.on('error', () => undefined);
  }

  async query(port: number, name: string, type: 'A' | 'AAAA' = 'A', timeoutMs = 500, host = '127.0.0.1'): Promise<ProbeResult | undefined> {
    assertLoopback(host);
    await this.ready;
    const id = Math.floor(Math.random() * 65536);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.pending = {
        id,
        start: process.hrtime.bigint(),
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.socket.send(buildQuery(id, name, type), port, host);
    });
  }

  close(): void {
    this.socket.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `port` answers `name` with `want` (any rcode when undefined); throws after `timeoutMs`. */
export async function waitForAnswer(
  port: number,
  name: string,
  want: string | undefined,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<number> {
  const prober = new Prober();
  const start = Date.now();
  try {
    while (Date.now() - start < timeoutMs) {
      if (!isAlive()) throw new Error('process exited before answering');
      const r = await prober.query(port, name, 'A', 200);
      if (r && (want === undefined || r.rcode === want)) return Date.now() - start;
      await sleep(20);
    }
  } finally {
    prober.close();
  }
  throw new Error(`no ${want ?? 'answer'} for ${name} on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
