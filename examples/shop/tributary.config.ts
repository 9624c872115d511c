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
  },
  generators: [{ kind: 'shop', ratePerSecond: 50, seed: 42 }],
});
