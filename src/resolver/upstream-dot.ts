// DNS over TLS to one upstream (RFC 7858): one persistent connection, queries pipelined on it
// with the two-octet length framing and matched to their attempt by ID and question. The
// connection opens with the first query, closes after a quiet spell, and is opened again by
// the next query after a close, an error or a stall (a timed-out query with nothing received
// since it was sent). The certificate must verify: against the name after "#" when the
// config gives one, else against the host.
import { connect, type TLSSocket } from 'node:tls';
import type { UpstreamTarget } from '../config/upstreams.ts';
import { randomId } from './random-ids.ts';
import { buildUpstreamQuery, frame, FrameReader, isReplyTo } from './upstream-message.ts';
import type { Attempt, TransportContext, UpstreamTransport } from './upstream-transport.ts';

/** A connection without queries for this long is closed (RFC 7858 §3.4: do not hold idle ones forever). */
export const DOT_IDLE_MS = 20_000;

interface Connection<J> {
  readonly socket: TLSSocket;
  readonly pending: Map<number, J>;
  readonly reader: FrameReader;
  /** Epoch ms of the last bytes received (0: none yet). */
  lastReceived: number;
  /** Replies matched on it so far: a connection that has served may be closed by the server when idle. */
  answers: number;
  /** Why it ended, when it ended with an error. */
  error: string | undefined;
}

export class DotTransport<J extends Attempt> implements UpstreamTransport<J> {
  private readonly target: UpstreamTarget;
  private readonly context: TransportContext<J>;
  private connection: Connection<J> | undefined;
  /** Attempts already re-sent once after their connection closed under them. */
  private readonly resent = new WeakSet<J>();
  private closed = false;

  constructor(target: UpstreamTarget, context: TransportContext<J>) {
    this.target = target;
    this.context = context;
  }

  async start(): Promise<void> {}

  send(job: J): void {
    if (this.closed) return;
    const connection = this.connection ?? this.open();
    let id = randomId();
    while (connection.pending.has(id)) id = randomId();
    job.id = id;
    job.handle = connection;
    job.query = buildUpstreamQuery(id, job.question, job.dnssecOk, job.checkingDisabled);
    connection.pending.set(id, job);
    connection.socket.write(frame(job.query));
  }

  cancel(job: J): void {
    const connection = job.handle as Connection<J> | undefined;
    job.handle = undefined;
    if (connection === undefined || connection.pending.get(job.id) !== job) return;
    connection.pending.delete(job.id);
    // Nothing came back since this query went out: the connection is stuck, use a new one.
    if (connection === this.connection && connection.lastReceived < job.sentAt) {
      this.connection = undefined;
      connection.error = 'dot-stalled';
      connection.socket.destroy();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    for (const job of connection.pending.values()) job.handle = undefined;
    connection.pending.clear();
    connection.socket.destroy();
  }

  private open(): Connection<J> {
    const { host, port, serverName } = this.target;
    const socket = connect({
      host,
      port,
      // An IP address is checked against the certificate's IP entries; SNI carries names only.
      ...(serverName !== undefined ? { servername: serverName } : this.target.family === 0 ? { servername: host } : {}),
      ...(this.context.ca !== undefined ? { ca: this.context.ca } : {}),
    });
    const connection: Connection<J> = { socket, pending: new Map(), reader: new FrameReader(), lastReceived: 0, answers: 0, error: undefined };
    this.connection = connection;
    socket.setNoDelay(true);
    socket.setTimeout(DOT_IDLE_MS, () => {
      if (connection.pending.size === 0) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      connection.lastReceived = Date.now();
      connection.reader.push(chunk, (message) => this.onMessage(connection, message));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      connection.error ??= `dot-error: ${error.code ?? error.message}`;
    });
    socket.on('close', () => this.onClose(connection));
    return connection;
  }

  private onMessage(connection: Connection<J>, message: Buffer): void {
    const job = message.length >= 2 ? connection.pending.get(message.readUInt16BE(0)) : undefined;
    if (job === undefined) {
      // A late answer to a query that timed out, or junk.
      this.context.events.mismatched();
      return;
    }
    connection.pending.delete(job.id);
    job.handle = undefined;
    if (!isReplyTo(message, job)) {
      // Our ID on our own authenticated connection but not our question: the upstream is broken.
      this.context.events.mismatched();
      this.context.events.failed(job, 'dot-mismatch');
      return;
    }
    connection.answers++;
    this.context.events.answered(job, message);
  }

  private onClose(connection: Connection<J>): void {
    if (this.connection === connection) this.connection = undefined;
    const jobs = [...connection.pending.values()];
    connection.pending.clear();
    if (this.closed) return;
    for (const job of jobs) {
      job.handle = undefined;
      // A server may close a connection it has served (idle, or its own limits) while our
      // query was on the way: send it once more on a new connection (RFC 7766 §6.2.1).
      if (connection.error === undefined && connection.answers > 0 && !this.resent.has(job)) {
        this.resent.add(job);
        this.send(job);
      } else {
        this.context.events.failed(job, connection.error ?? 'dot-closed');
      }
    }
  }
}
