// CSV for auditors (RFC 4180, header row, CRLF). qname and rule come from the network, so a
// cell that a spreadsheet would run as a formula (= + - @ tab CR first) gets a leading "'".
import { type AuditEvent, EVENT_FIELDS } from './event.ts';

export const CSV_HEADER = EVENT_FIELDS.join(',') + '\r\n';

export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(event: AuditEvent): string {
  let out = '';
  for (let i = 0; i < EVENT_FIELDS.length; i++) {
    if (i > 0) out += ',';
    out += csvCell(event[EVENT_FIELDS[i] as keyof AuditEvent]);
  }
  return out + '\r\n';
}
