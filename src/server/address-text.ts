// Sender addresses as text, read from an addon batch (src/server/datagram-addon.ts): the
// last string again when its bytes are the same. A busy client, and an upstream always,
// sends many datagrams in a row, so this spares a string per datagram.

export class AddressText {
  private last = '';

  /** The latin1 text of `buffer[at, at + length)`, compared from the end, where addresses differ. */
  read(buffer: Buffer, at: number, length: number): string {
    const last = this.last;
    if (length === last.length) {
      let i = length - 1;
      while (i >= 0 && buffer[at + i] === last.charCodeAt(i)) i--;
      if (i < 0) return last;
    }
    this.last = buffer.toString('latin1', at, at + length);
    return this.last;
  }
}
