// One query over TCP to an upstream (used when a UDP answer comes back truncated).
// dns2's TCP client cannot be used here: it has no timeout and always sends ID 0.
// Bounded: the socket is destroyed on answer, error or deadline, whichever comes first.
import { connect } from 'node:net';
import { FLAG } from '../dns/constants.ts';

export function tcpQuery(
  host: string,
  port: number,
  query: Buffer,
  questionOk: (reply: Buffer) => boolean,
  timeoutMs: number,
  done: (answer: Buffer | undefined, reason: string) => void,
): void {
  const id = query.readUInt16BE(0);
  let settled = false;
  let received: Buffer = Buffer.alloc(0);
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
  socket.on('connect', () => {
    const framed = Buffer.allocUnsafe(query.length + 2);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    socket.write(framed);
  });
  socket.on('data', (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    while (received.length >= 2) {
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const message = received.subarray(2, 2 + length);
      received = received.subarray(2 + length);
      if (message.length >= 12 && message.readUInt16BE(0) === id && (message.readUInt16BE(2) & FLAG.QR) !== 0 && questionOk(message)) {
        finish(Buffer.from(message), 'ok');
        return;
      }
      // A mismatched message on our own connection: the upstream is broken; keep waiting until the deadline.
    }
  });
  socket.on('error', () => finish(undefined, 'tcp-error'));
  socket.on('close', () => finish(undefined, 'tcp-closed'));
}
