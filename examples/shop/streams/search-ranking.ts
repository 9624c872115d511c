/**
 * Real-time search ranking: the top 10 search terms over a 10-minute window that slides every
 * minute. Searches are re-keyed by term (repartition), counted per hopping window (updates as
 * they happen), then re-keyed by window and folded into a top-10 list per window.
 *
 * Output: `shop.search-ranking`, key = window start (ISO time), value =
 * `{ windowStart, windowEnd, top: [{ term, count }, …] }` — every update of the ranking.
 * Query a window: GET /api/streams/search-ranking/stores/top-terms?key=<window start ISO>
 */
import { defineStreamApp, TimeWindows } from '../../../src/index.ts';
import type { SearchEvent } from '../../../src/connect/generator/shop-events.ts';

const MINUTE = 60_000;

interface Ranking {
  windowStart: string;
  windowEnd: string;
  counts: Record<string, number>;
  top: Array<{ term: string; count: number }>;
}

export default defineStreamApp({
  id: 'search-ranking',
  description: 'top 10 search terms over a 10-minute window sliding every minute',
  build(b) {
    b.stream<string, SearchEvent>('shop.searches')
      .groupBy((_user, s) => s.query.trim().toLowerCase(), { name: 'by-term' })
      .windowedBy(TimeWindows.hopping(10 * MINUTE, MINUTE).grace(30_000))
      .count({ name: 'term-counts' })
      .toStream()
      .filter((w, count) => count !== null)
      .map((w, count) => [new Date(w.start).toISOString(), { term: w.key, count: count!, start: w.start, end: w.end }])
      .groupByKey({ name: 'by-window' })
      .aggregate<Ranking>(
        () => ({ windowStart: '', windowEnd: '', counts: {}, top: [] }),
        (_window, u, r) => {
          const counts = { ...r.counts, [u.term]: Math.max(r.counts[u.term] ?? 0, u.count) };
          const top = Object.entries(counts)
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
            .slice(0, 10)
            .map(([term, count]) => ({ term, count }));
          return { windowStart: new Date(u.start).toISOString(), windowEnd: new Date(u.end).toISOString(), counts, top };
        },
        { name: 'top-terms' },
      )
      .toStream()
      .mapValues((r) => (r ? { windowStart: r.windowStart, windowEnd: r.windowEnd, top: r.top } : null))
      .to('shop.search-ranking');
  },
});
