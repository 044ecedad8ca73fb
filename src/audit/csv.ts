// CSV for auditors (RFC 4180, header row, CRLF), safe in spreadsheets whichever separator
// they read it with: `,`, or `;` as in Belgian locales. qname and rule come from the network
// (and from subscribed lists), so:
// - names are written in DNS presentation form: letters, digits, `-`, `_`, `.` and `*` as they
//   are, every other octet as `\DDD` (RFC 1035 5.1). `;`, `,`, `=`, quotes and control
//   characters become inert text (`x;=cmd` -> `x\059\061cmd`);
// - every other text cell has its control and format characters, `;` and `\` escaped the
//   same way: quoting protects a cell from a `,` reader only (a `;` reader's cells begin
//   elsewhere), so no `;` may appear raw anywhere: a `;` reader then sees one cell per row;
// - a cell that begins with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (never a formula);
// - a cell with `,` or `"` is quoted (RFC 4180).
// JSONL exports keep the members as they are.
import { type AuditEvent, EVENT_FIELDS } from './event.ts';
import { escapeChar } from './terminal.ts';

export const CSV_HEADER = EVENT_FIELDS.join(',') + '\r\n';

const NAME_PLAIN = /^[A-Za-z0-9\-_.*]*$/;
const NAME_UNSAFE = /[^A-Za-z0-9\-_.*]/g;
const TEXT_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp};\\]/gu;
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** A domain name in DNS presentation form with `\DDD` for every octet outside [A-Za-z0-9-_.*]. */
export function presentName(name: string): string {
  if (NAME_PLAIN.test(name)) return name;
  return name.replace(NAME_UNSAFE, (ch) => {
    const code = ch.codePointAt(0) as number;
    // Wire names are octets (one char each); anything wider is written as its UTF-8 octets.
    if (code < 256) return escapeChar(ch);
    let out = '';
    for (const byte of Buffer.from(ch, 'utf8')) out += `\\${String(byte).padStart(3, '0')}`;
    return out;
  });
}

/** The rule member: a list entry, or `cname:` + the entry a CNAME matched. */
export function presentRule(rule: string): string {
  return rule.startsWith('cname:') ? 'cname:' + presentName(rule.slice(6)) : presentName(rule);
}

/** A text or number cell: control and format characters, `;` and `\` escaped, then guarded. */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  return guard(value.replace(TEXT_UNSAFE, escapeChar));
}

/** Never a formula (leading `'`), quoted when it holds `,` or `"`. */
function guard(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvRow(event: AuditEvent): string {
  let out = '';
  for (let i = 0; i < EVENT_FIELDS.length; i++) {
    const field = EVENT_FIELDS[i] as keyof AuditEvent;
    const value = event[field];
    if (i > 0) out += ',';
    if (field === 'qname') out += guard(presentName(value as string));
    else if (field === 'rule') out += guard(presentRule(value as string));
    else out += csvCell(value ?? '');
  }
  return out + '\r\n';
}
