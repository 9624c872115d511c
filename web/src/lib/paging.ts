/** Client-side paging of a list (every list in the UI pages). */

export interface Page<T> {
  items: T[];
  /** 0-based page shown (clamped to the last page). */
  page: number;
  pages: number;
  total: number;
  from: number;
  to: number;
}

export function paginate<T>(items: readonly T[], page: number, pageSize: number): Page<T> {
  const size = Math.max(1, Math.floor(pageSize));
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  const start = p * size;
  const slice = items.slice(start, start + size);
  return { items: slice, page: p, pages, total: items.length, from: items.length ? start + 1 : 0, to: start + slice.length };
}
