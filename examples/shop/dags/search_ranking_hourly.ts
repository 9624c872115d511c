/**
 * Hourly search ranking (the seed's "real-time search ranking", in its batch form): the 20 most
 * searched terms of the last hour, with their share and the change against the hour before.
 */
import { defineDag } from '../../../src/index.ts';
import { events, publish } from './_shop-source.ts';

export default defineDag(
  {
    id: 'search_ranking_hourly',
    schedule: '0 * * * *',
    timezone: 'Asia/Seoul',
    tags: ['shop', 'search'],
    description: 'Top search terms per hour → shop.marts.search-ranking',
    params: { top: 20 },
    defaults: { retries: 2, retryDelayMs: 30_000, timeoutMs: 10 * 60_000 },
  },
  (dag) => {
    const counts = dag.task('count_terms', async (ctx) => {
      const searches = await events(ctx, 'searches');
      const byTerm: Record<string, number> = {};
      for (const s of searches) byTerm[s.query] = (byTerm[s.query] ?? 0) + 1;
      return { total: searches.length, byTerm };
    });

    const previous = dag.task('previous_hour', async (ctx) => {
      const prev = { ...ctx, interval: { start: new Date(ctx.interval.start.getTime() - 3600_000), end: ctx.interval.start } };
      const searches = await events(prev, 'searches');
      const byTerm: Record<string, number> = {};
      for (const s of searches) byTerm[s.query] = (byTerm[s.query] ?? 0) + 1;
      return byTerm;
    });

    const ranking = dag.task('rank', { inputs: { counts, previous } }, (ctx, { counts, previous }) => {
      const prevRank = new Map(
        Object.entries(previous)
          .sort((a, b) => b[1] - a[1])
          .map(([term], i) => [term, i + 1]),
      );
      return Object.entries(counts.byTerm)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, ctx.params.top)
        .map(([term, searches], i) => ({
          rank: i + 1,
          term,
          searches,
          share: counts.total ? Math.round((searches / counts.total) * 10_000) / 100 : 0,
          change: prevRank.has(term) ? prevRank.get(term)! - (i + 1) : null,
        }));
    });

    dag.task('publish', { inputs: { ranking } }, async (ctx, { ranking }) => {
      await publish(ctx, 'shop.marts.search-ranking', ranking);
      return { rows: ranking.length, top: ranking[0]?.term ?? null };
    });
  },
);
