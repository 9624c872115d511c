/** CSV (RFC 4180) for "download as CSV": quotes fields that need it, doubles quotes, CRLF rows. */

function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): string {
  const out = [columns.map(field).join(',')];
  for (const r of rows) out.push(columns.map((_, i) => field(r[i])).join(','));
  return `${out.join('\r\n')}\r\n`;
}
