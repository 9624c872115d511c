/**
 * Edits of SQL text with a map back to the original (pure). The gateway rewrites what the user
 * wrote (lake references, time-travel clauses) and models expand templates; DuckDB reports
 * errors against what it ran, and the map turns that position into one in the text the user
 * wrote. A position inside replaced text maps to the start of what it replaced.
 */

export interface Edit {
  start: number;
  end: number;
  text: string;
}

interface Segment {
  outStart: number;
  outEnd: number;
  inStart: number;
  inEnd: number;
  /** Copied verbatim (offsets map one to one) or replaced. */
  verbatim: boolean;
}

export class SourceMap {
  private constructor(
    private readonly segments: Segment[],
    private readonly inputLength: number,
  ) {}

  static identity(length: number): SourceMap {
    return new SourceMap([{ outStart: 0, outEnd: length, inStart: 0, inEnd: length, verbatim: true }], length);
  }

  /** Builds a map from pieces of output in order: verbatim copies of input ranges, or replacements of input ranges. */
  static fromPieces(pieces: Array<{ inStart: number; inEnd: number; outLength: number; verbatim: boolean }>, inputLength: number): SourceMap {
    const segments: Segment[] = [];
    let out = 0;
    for (const p of pieces) {
      segments.push({ outStart: out, outEnd: out + p.outLength, inStart: p.inStart, inEnd: p.inEnd, verbatim: p.verbatim });
      out += p.outLength;
    }
    return new SourceMap(segments, inputLength);
  }

  /** The input offset an output offset came from. */
  toInput(outOffset: number): number {
    for (const s of this.segments) {
      if (outOffset >= s.outStart && outOffset < s.outEnd) return s.verbatim ? s.inStart + (outOffset - s.outStart) : s.inStart;
    }
    const last = this.segments[this.segments.length - 1];
    return last ? Math.min(this.inputLength, last.inEnd) : 0;
  }

  /** `this` maps B → A, `next` maps C → B: the result maps C → A. */
  then(next: SourceMap): SourceMap {
    const outer = this;
    const composed = Object.create(SourceMap.prototype) as SourceMap;
    (composed as unknown as { toInput: (o: number) => number }).toInput = (o: number) => outer.toInput(next.toInput(o));
    return composed;
  }
}

/** Applies non-overlapping edits (any order) and returns the new text with its map. */
export function applyEdits(text: string, edits: readonly Edit[]): { text: string; map: SourceMap } {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  const pieces: Array<{ inStart: number; inEnd: number; outLength: number; verbatim: boolean }> = [];
  for (const e of sorted) {
    if (e.start < pos) throw new Error(`overlapping edits at ${e.start}`);
    if (e.start > pos) {
      pieces.push({ inStart: pos, inEnd: e.start, outLength: e.start - pos, verbatim: true });
      out += text.slice(pos, e.start);
    }
    pieces.push({ inStart: e.start, inEnd: e.end, outLength: e.text.length, verbatim: false });
    out += e.text;
    pos = e.end;
  }
  if (pos < text.length) {
    pieces.push({ inStart: pos, inEnd: text.length, outLength: text.length - pos, verbatim: true });
    out += text.slice(pos);
  }
  return { text: out, map: SourceMap.fromPieces(pieces, text.length) };
}

/** Wraps text in a prefix and suffix (e.g. `COPY (` … `) TO …`), mapping back into the text. */
export function wrap(prefix: string, text: string, suffix: string): { text: string; map: SourceMap } {
  const map = SourceMap.fromPieces(
    [
      { inStart: 0, inEnd: 0, outLength: prefix.length, verbatim: false },
      { inStart: 0, inEnd: text.length, outLength: text.length, verbatim: true },
      { inStart: text.length, inEnd: text.length, outLength: suffix.length, verbatim: false },
    ],
    text.length,
  );
  return { text: prefix + text + suffix, map };
}
