// One query over TCP to an upstream (used when a UDP answer comes back truncated).
// dns2's TCP client cannot be used here: it has no timeout and always sends ID 0.
// Bounded: the socket is destroyed on answer, error, deadline or cancel, whichever comes first.
import { connect } from 'node:net';
import { FLAG } from '../dns/constants.ts';
import { frame, FrameReader } from './upstream-message.ts';

/** Returns a cancel switch: it closes the socket and reports 'tcp-cancelled'. */
export function tcpQuery(
  host: string,
  port: number,
  query: Buffer,
  questionOk: (reply: Buffer) => boolean,
  timeoutMs: number,
  done: (answer: Buffer | undefined, reason: string) => void,
): () => void {
  const id = query.readUInt16BE(0);
  let settled = false;
  const reader = new FrameReader();
  const socket = connect({ host, port });
  const finish = (answer: Buffer | undefined, reason: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.destroy();
    done(answer, reason);
  };
  const timer = setTimeout(() => finish(undefined, 'tcp-timeout'), timeoutMs);
  socket.setNoDelay(true);
  socket.on('connect', () => socket.write(frame(query)));
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk, (message) => {
      if (message.length >= 12 && message.readUInt16BE(0) === id && (message.readUInt16BE(2) & FLAG.QR) !== 0 && questionOk(message)) finish(message, 'ok');
      // A mismatched message on our own connection: the upstream is broken; keep waiting until the deadline.
    });
  });
  socket.on('error', () => finish(undefined, 'tcp-error'));
  socket.on('close', () => finish(undefined, 'tcp-closed'));
  return () => finish(undefined, 'tcp-cancelled');
}
