// A loopback port for a daemon the test starts (dnsmasq, unbound, ...), which binds it for UDP
// and TCP: free for both now. A port the kernel handed out for UDP alone could be held on TCP by
// another test's connection ("Address already in use" from dnsmasq, seen in a full run).
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

async function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port free on 127.0.0.1 for both UDP and TCP (the kernel's choice for UDP, checked on TCP).
 * `max`: the highest port wanted (a Redis Cluster node also binds port + 10000, which must exist).
 */
export async function freeUdpTcpPort(max = 65535): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (port <= max && (await tcpFree(port))) return port;
  }
  throw new Error(`no loopback port up to ${max} free for both UDP and TCP after 200 tries`);
}
