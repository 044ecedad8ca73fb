// A loopback port for a server the test starts (dnsmasq, unbound, dnsward itself, ...), which
// binds it for UDP and TCP: free for both now, and below the kernel's ephemeral range, so no
// outgoing connection or port-0 socket of another test can take it between this check and the
// bind (an EADDRINUSE seen in full runs while ports came from the kernel's own choice).
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports the kernel never hands out on its own here start at this (net.ipv4.ip_local_port_range). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

const LOWEST = 10_000;

async function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/**
 * A random port free on 127.0.0.1 for both UDP and TCP, outside the ephemeral range.
 * `max`: the highest port wanted (a Redis Cluster node also binds port + 10000, which must exist).
 */
export async function freeUdpTcpPort(max = 65535): Promise<number> {
  const high = Math.min(max, ephemeralLow() - 1);
  if (high <= LOWEST) throw new Error(`no room for test ports between ${LOWEST} and ${high} (the ephemeral range starts low)`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST + 1));
    if ((await udpFree(port)) && (await tcpFree(port))) return port;
  }
  throw new Error(`no loopback port between ${LOWEST} and ${high} free for both UDP and TCP after 200 tries`);
}
