// Text that reaches a terminal or a spreadsheet. Query names come from the network and file
// names from the directory being checked: an ESC, BEL or NUL in them must not reach a
// terminal raw (it would be a control sequence), nor a bidi override (it would reorder what
// the auditor reads).

/** C0 and C1 controls, DEL, line and paragraph separators, bidi and other format characters. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `\DDD` (decimal, as in DNS presentation form) below 256, `\u{X}` above. */
export function escapeChar(ch: string): string {
  const code = ch.codePointAt(0) as number;
  return code < 256 ? `\\${String(code).padStart(3, '0')}` : `\\u{${code.toString(16)}}`;
}

/** The text with every control or format character escaped (newlines too: a line stays one line). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * Writing to stdout when the reader has gone (`... | head`): EPIPE is the end of the output,
 * not an error. Returns a function that tells whether the pipe was closed.
 */
export function endQuietlyOnEpipe(stream: NodeJS.WritableStream & { on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown }): () => boolean {
  let closed = false;
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') closed = true;
    else throw error;
  });
  return () => closed;
}
