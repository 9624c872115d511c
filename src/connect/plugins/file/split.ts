/**
 * Cutting a chunk of a file into records, with the byte offset after each (pure).
 *
 * Only complete records are returned: a line without its newline yet (a writer mid-append), or
 * a CSV row inside an open quote, stays for the next read — unless `final` (the file was rotated
 * away and will not grow), when the rest is the last record. Offsets count bytes from the chunk's
 * start, so `position + end` is where to resume. CSV follows RFC 4180: quoted fields may hold
 * delimiters, `""` and newlines; `\r\n` and `\n` both end a row.
 */

export interface Piece {
  /** NDJSON: the line's text. CSV: the row's fields. */
  text: string;
  fields?: string[];
  /** Bytes from the chunk's start to just after this record (and its newline). */
  end: number;
  /** Byte offset of the record's start within the chunk. */
  start: number;
}

export function splitLines(chunk: Buffer, final: boolean): { pieces: Piece[]; consumed: number } {
  const pieces: Piece[] = [];
  let start = 0;
  for (;;) {
    const nl = chunk.indexOf(0x0a, start);
    if (nl < 0) break;
    let endText = nl;
    if (endText > start && chunk[endText - 1] === 0x0d) endText--;
    const text = chunk.toString('utf8', start, endText);
    if (text.trim() !== '') pieces.push({ text, end: nl + 1, start });
    start = nl + 1;
  }
  if (final && start < chunk.length) {
    const text = chunk.toString('utf8', start).replace(/\r$/, '');
    if (text.trim() !== '') pieces.push({ text, end: chunk.length, start });
    start = chunk.length;
  }
  return { pieces, consumed: start };
}

export function splitCsv(chunk: Buffer, final: boolean, delimiter = ','): { pieces: Piece[]; consumed: number } {
  const d = delimiter.charCodeAt(0);
  const Q = 0x22;
  const pieces: Piece[] = [];
  let rowStart = 0;
  let i = 0;
  const n = chunk.length;
  outer: while (rowStart < n) {
    const fields: string[] = [];
    i = rowStart;
    for (;;) {
      // One field starting at i.
      if (chunk[i] === Q) {
        let j = i + 1;
        const parts: string[] = [];
        let segStart = j;
        for (;;) {
          if (j >= n) {
            if (!final) break outer; // open quote: wait for more
            parts.push(chunk.toString('utf8', segStart, n));
            fields.push(parts.join(''));
            i = n;
            break;
          }
          if (chunk[j] === Q) {
            if (chunk[j + 1] === Q) {
              parts.push(chunk.toString('utf8', segStart, j + 1));
              j += 2;
              segStart = j;
              continue;
            }
            if (j + 1 >= n && !final) break outer; // cannot tell "" from the end yet
            parts.push(chunk.toString('utf8', segStart, j));
            fields.push(parts.join(''));
            i = j + 1;
            // Skip anything up to the delimiter/newline (lenient about `"a"b`).
            while (i < n && chunk[i] !== d && chunk[i] !== 0x0a) i++;
            break;
          }
          j++;
        }
      } else {
        let j = i;
        while (j < n && chunk[j] !== d && chunk[j] !== 0x0a) j++;
        if (j >= n && !final) break outer;
        let endText = j;
        if (j < n && chunk[j] === 0x0a && endText > i && chunk[endText - 1] === 0x0d) endText--;
        else if (j >= n && endText > i && chunk[endText - 1] === 0x0d) endText--;
        fields.push(chunk.toString('utf8', i, endText));
        i = j;
      }
      if (i >= n) {
        if (!final) break outer;
        break;
      }
      if (chunk[i] === d) {
        i++;
        continue;
      }
      // newline (possibly after \r inside an unquoted field already trimmed)
      i++;
      break;
    }
    const text = chunk.toString('utf8', rowStart, i).replace(/\r?\n$/, '');
    if (!(fields.length === 1 && fields[0]!.trim() === '' && !text.includes('"'))) {
      pieces.push({ text, fields: fields.map((f, k) => (k === fields.length - 1 ? f.replace(/\r$/, '') : f)), end: i, start: rowStart });
    }
    rowStart = i;
  }
  return { pieces, consumed: rowStart };
}
