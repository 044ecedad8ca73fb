// Which way UDP datagrams go: the batched addon (native/datagram.cc: recvmmsg/sendmmsg, one
// JavaScript call per batch) or node:dgram. `dns.datagram` chooses (auto | addon | dgram);
// the environment variable DNSWARD_DATAGRAM, when set, overrides it (the test suite runs
// twice with it, and it switches a host without editing its config). `auto` takes the addon
// when it is built and loads on this platform, and node:dgram otherwise.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DnswardError, ErrorCodes } from '../errors.ts';

export const DATAGRAM_MODES = ['auto', 'addon', 'dgram'] as const;
export type DatagramMode = (typeof DATAGRAM_MODES)[number];
export type DatagramPath = 'addon' | 'dgram';

/** An open addon socket (opaque). */
export interface AddonSocket {
  readonly __addonSocket: unique symbol;
}

/** The addon's exports (native/datagram.cc, Init). */
export interface DatagramAddon {
  /**
   * Binds a UDP socket and starts polling it; `onBatch(buffer, count)` gets each batch, its
   * datagrams described in `recvMeta` (META_INTS per datagram: data offset, data length,
   * address offset, address length, port; the address is text, like node:dgram's). `buffer` is a receive
   * area that later batches share, each written after the last: bytes once received are never overwritten,
   * so a view of them stays valid as long as it is kept. Throws with the
   * errno's name as `code` (EADDRINUSE, ...).
   */
  open(
    family: 4 | 6,
    host: string,
    port: number,
    reusePort: number,
    recvBufferSize: number,
    sendBufferSize: number,
    recvMeta: Int32Array,
    sendArea: Uint8Array,
    sendMeta: Int32Array,
    onBatch: (buffer: Buffer, count: number) => void,
  ): AddonSocket;
  /** Sends the `count` messages described in `sendMeta` (same layout as recvMeta) from `sendArea`; returns how many went out. */
  sendBatch(socket: AddonSocket, count: number): number;
  close(socket: AddonSocket): void;
  localPort(socket: AddonSocket): number;
  /** [receive errors, datagrams dropped unread (truncated, unreadable sender), send errors, sends dropped (buffer full), last send error's code or ''] */
  stats(socket: AddonSocket): [number, number, number, number, string];
  readonly MAX_BATCH: number;
  readonly META_INTS: number;
  readonly MAX_DATAGRAM: number;
}

/** Where `npm ci` (native/build.ts) leaves the addon; the same from src/server and dist/server. */
export const ADDON_FILE = new URL('../../native/build/Release/dnsward_datagram.node', import.meta.url);

let loaded: { addon: DatagramAddon } | { error: string } | undefined;

/** Loads the addon once; the reason when it cannot be used here. */
export function loadDatagramAddon(): { addon: DatagramAddon } | { error: string } {
  loaded ??= load();
  return loaded;
}

function load(): { addon: DatagramAddon } | { error: string } {
  if (process.platform !== 'linux') return { error: `batched datagrams need Linux (recvmmsg/sendmmsg), this is ${process.platform}` };
  if (!existsSync(ADDON_FILE)) return { error: 'the addon is not built (native/build/Release/dnsward_datagram.node is missing: npm run build:addon, which needs g++, make and python3)' };
  try {
    const addon = createRequire(import.meta.url)(fileURLToPath(ADDON_FILE)) as DatagramAddon;
    // A build from another version of native/datagram.cc would misread the shared arrays.
    if (typeof addon.open !== 'function' || typeof addon.sendBatch !== 'function' || addon.MAX_BATCH !== 64 || addon.META_INTS !== 5) {
      return { error: 'the addon build does not match this version of dnsward: npm run build:addon' };
    }
    return { addon };
  } catch (error) {
    return { error: `the addon does not load: ${(error as Error).message.split('\n')[0]}` };
  }
}

export interface DatagramChoice {
  path: DatagramPath;
  addon?: DatagramAddon;
  /** Why this path, for the start-up log line. */
  reason: string;
}

/**
 * Picks the datagram path for `configured` (dns.datagram) and the environment. Throws a
 * DNSWARD_ERR_CONFIG error when the addon is demanded but cannot be used, or the
 * environment variable holds something else than a mode.
 */
export function chooseDatagramPath(configured: DatagramMode = 'auto', env: NodeJS.ProcessEnv = process.env, loader = loadDatagramAddon): DatagramChoice {
  const fromEnv = env.DNSWARD_DATAGRAM?.trim();
  if (fromEnv !== undefined && fromEnv !== '' && !(DATAGRAM_MODES as readonly string[]).includes(fromEnv)) {
    throw new DnswardError(ErrorCodes.CONFIG, `DNSWARD_DATAGRAM is "${fromEnv}": use one of ${DATAGRAM_MODES.join(', ')}, or unset it to follow dns.datagram`);
  }
  const mode = fromEnv ? (fromEnv as DatagramMode) : configured;
  const source = fromEnv ? `DNSWARD_DATAGRAM=${mode}` : `dns.datagram: ${mode}`;
  if (mode === 'dgram') return { path: 'dgram', reason: source };
  const result = loader();
  if ('addon' in result) return { path: 'addon', addon: result.addon, reason: source };
  if (mode === 'addon') {
    throw new DnswardError(ErrorCodes.CONFIG, `${source} asks for the batched datagram addon, but ${result.error}; or set it to auto (node:dgram when the addon cannot be used)`);
  }
  return { path: 'dgram', reason: `${source}, and ${result.error}` };
}
