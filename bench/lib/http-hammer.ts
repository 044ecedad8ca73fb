// HTTP clients for bench/http-abuse.ts, in their own process: N keep-alive clients, each from
// its own loopback address, request random feed paths with random Host headers and
// "Accept-Encoding: br, gzip" for S seconds, then print one JSON line of totals.
//   node bench/lib/http-hammer.ts PORT CLIENTS SECONDS FORMATS
import { Agent, request } from 'node:http';

export interface HttpLoad {
  requests: number;
  bytes: number;
  errors: number;
  statuses: Record<number, number>;
}

async function run(port: number, clients: number, seconds: number, formats: string[]): Promise<HttpLoad> {
  const load: HttpLoad = { requests: 0, bytes: 0, errors: 0, statuses: {} };
  const paths = ['/', '/lists', ...formats.map((f) => `/lists/big/${f}`), ...formats.map((f) => `/lists/tiktok/${f}`)];
  const end = Date.now() + seconds * 1000;
  const client = async (index: number): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.5.${index + 1}` });
    while (Date.now() < end) {
      const path = paths[Math.floor(Math.random() * paths.length)] as string;
      const host = `${Math.random().toString(36).slice(2)}.example`;
      await new Promise<void>((done) => {
        const req = request({ host: '127.0.0.1', port, path, agent, headers: { host, 'accept-encoding': 'br, gzip' } }, (res) => {
          load.statuses[res.statusCode ?? 0] = (load.statuses[res.statusCode ?? 0] ?? 0) + 1;
          res.on('data', (c: Buffer) => (load.bytes += c.length));
          res.on('end', () => {
            load.requests++;
            done();
          });
          res.on('error', () => {
            load.errors++;
            done();
          });
        });
        req.on('error', () => {
          load.errors++;
          setTimeout(done, 10);
        });
        req.end();
      });
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return load;
}

if (process.argv[1]?.endsWith('http-hammer.ts')) {
  const [port, clients, seconds, formats] = process.argv.slice(2);
  const load = await run(Number(port), Number(clients), Number(seconds), (formats ?? '').split(','));
  console.log(JSON.stringify(load));
}
