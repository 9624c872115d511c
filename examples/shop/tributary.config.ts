/**
 * The demo project (`npm start`): a delivery-app "shop" whose generator emits the seed's use
 * cases — search queries, orders, reviews, delivery GPS pings and POS sales — at 50 events/s.
 */
import { defineConfig } from '../../src/index.ts';

const week = 7 * 24 * 3600 * 1000;

export default defineConfig({
  http: { port: 8080 },
  kafka: { port: 9092 },
  topics: {
    // Keyed by user id: a user's searches stay in order (real-time search ranking).
    'shop.searches': { partitions: 6, retentionMs: week },
    // Keyed by order id.
    'shop.orders': { partitions: 3, retentionMs: 4 * week },
    // Keyed by order id (the review clean-bot reads these).
    'shop.reviews': { partitions: 3, retentionMs: 4 * week },
    // Keyed by driver id: one driver's pings in order (driving score).
    'shop.deliveries': { partitions: 6, retentionMs: week },
    // Keyed by store id: a store's stock changes in order.
    'shop.pos-sales': { partitions: 3, retentionMs: 4 * week },
    // Outputs of the stream apps in streams/ (see streams/*.ts).
    'shop.search-ranking': { partitions: 1, retentionMs: week },
    'shop.reviews-flagged': { partitions: 3, retentionMs: 4 * week },
    'shop.driver-scores': { partitions: 3, retentionMs: week },
    'shop.inventory': { partitions: 3, cleanupPolicy: 'compact' },
    // Events apps send over HTTP: POST /ingest/shop.app-events (the app-events connector below).
    'shop.app-events': { partitions: 3, retentionMs: week },
  },
  generators: [{ kind: 'shop', ratePerSecond: 50, seed: 42 }],
  // Getting data in. HTTP ingest: curl -H 'Authorization: Bearer demo-ingest-token' \
  //   -d '{"key":"u1","value":{"screen":"cart"}}' localhost:8080/ingest/shop.app-events
  // PostgreSQL CDC: with SHOP_PG_URL=postgres://user@host/db (wal_level=logical, a role that may
  // create publications and replication slots) every table's changes flow to shop.db.<table>.
  connect: {
    connectors: {
      'app-events': {
        connector: 'http-ingest',
        topics: ['shop.app-events'],
        tokens: { [process.env['SHOP_INGEST_TOKEN'] ?? 'demo-ingest-token']: 'User:shop-app' },
      },
      ...(process.env['SHOP_PG_URL']
        ? { 'shop-db': { connector: 'postgres-source', mode: 'cdc', url: process.env['SHOP_PG_URL'], topicPrefix: 'shop.db.' } }
        : {}),
    },
  },
  // The lake: every raw shop event lands in raw.<table> as hourly Parquet partitions
  // (dt=YYYY-MM-DD/hr=HH of the event's own eventTime), exactly once; raw data is kept 30 days.
  lake: {
    zones: { raw: { retentionMs: 30 * 24 * 3600 * 1000 } },
    sinks: [
      { topics: ['shop.searches'], table: 'searches', zone: 'raw', partitionBy: 'hour', eventTime: { field: 'eventTime' }, rollMs: 60_000 },
      { topics: ['shop.orders'], table: 'orders', zone: 'raw', partitionBy: 'hour', eventTime: { field: 'eventTime' }, rollMs: 60_000 },
      { topics: ['shop.reviews'], table: 'reviews', zone: 'raw', partitionBy: 'hour', eventTime: { field: 'eventTime' }, rollMs: 60_000 },
      { topics: ['shop.deliveries'], table: 'deliveries', zone: 'raw', partitionBy: 'hour', eventTime: { field: 'eventTime' }, rollMs: 60_000 },
      { topics: ['shop.pos-sales'], table: 'pos_sales', zone: 'raw', partitionBy: 'hour', eventTime: { field: 'eventTime' }, rollMs: 60_000 },
    ],
  },
});
