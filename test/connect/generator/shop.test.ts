import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeShopEvent,
  FLAGGED_WORDS,
  ShopEventStream,
  shopTopics,
  type DeliveryEvent,
  type OrderEvent,
  type PosSaleEvent,
  type ReviewEvent,
  type SearchEvent,
} from '../../../src/connect/generator/index.ts';
import { SeededRandom } from '../../../src/connect/generator/random.ts';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('SeededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const c = new SeededRandom(8);
    const sa = Array.from({ length: 20 }, () => a.uint32());
    assert.deepEqual(sa, Array.from({ length: 20 }, () => b.uint32()));
    assert.notDeepEqual(sa, Array.from({ length: 20 }, () => c.uint32()));
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      assert.ok(x >= 0 && x < 1);
      const n = a.int(3, 5);
      assert.ok(n >= 3 && n <= 5 && Number.isInteger(n));
    }
  });
});

describe('ShopEventStream', () => {
  it('is deterministic for a seed and start time', () => {
    const a = new ShopEventStream({ seed: 42, startTime: START, ratePerSecond: 100 }).take(2000);
    const b = new ShopEventStream({ seed: 42, startTime: START, ratePerSecond: 100 }).take(2000);
    assert.deepEqual(a, b);
    const c = new ShopEventStream({ seed: 43, startTime: START, ratePerSecond: 100 }).take(2000);
    assert.notDeepEqual(a.map((e) => e.value), c.map((e) => e.value));
  });

  it('writes the five topics with a configurable prefix and sensible keys', () => {
    const events = new ShopEventStream({ seed: 1, startTime: START, topicPrefix: 'demo-' }).take(5000);
    const topics = shopTopics('demo-');
    assert.deepEqual(Object.values(topics), ['demo-searches', 'demo-orders', 'demo-reviews', 'demo-deliveries', 'demo-pos-sales']);
    assert.deepEqual(new Set(events.map((e) => e.topic)), new Set(Object.values(topics)));
    assert.deepEqual(shopTopics().orders, 'shop.orders');
    for (const e of events) {
      const v = e.value;
      switch (v.type) {
        case 'search':
          assert.equal(e.key, (v as SearchEvent).userId);
          break;
        case 'order':
          assert.equal(e.key, (v as OrderEvent).orderId);
          break;
        case 'review':
          assert.equal(e.key, (v as ReviewEvent).orderId);
          break;
        case 'delivery':
          assert.equal(e.key, (v as DeliveryEvent).driverId);
          break;
        case 'pos-sale':
          assert.equal(e.key, (v as PosSaleEvent).storeId);
          break;
      }
      assert.equal(new Date(v.eventTime).getTime(), e.timestamp);
    }
  });

  it('advances event time by 1000/rate ms, with a few late events', () => {
    const events = new ShopEventStream({ seed: 3, startTime: START, ratePerSecond: 50 }).take(5000);
    const late = events.filter((e, i) => e.timestamp < START + Math.floor(i * 20));
    assert.ok(late.length > 0 && late.length < events.length * 0.05, `late: ${late.length}`);
    for (const [i, e] of events.entries()) {
      assert.ok(e.timestamp <= START + i * 20);
      assert.ok(e.timestamp >= START + i * 20 - 30_000);
    }
  });

  it('produces consistent orders, deliveries, reviews and stock', () => {
    const events = new ShopEventStream({ seed: 5, startTime: START }).take(20_000);
    const orders = new Map<string, OrderEvent>();
    const deliveredOrders = new Set<string>();
    const stock = new Map<string, number>();
    let harsh = 0;
    let flagged = 0;
    let reviews = 0;
    const queries = new Map<string, number>();
    for (const e of events) {
      const v = e.value;
      if (v.type === 'order') {
        assert.ok(v.items.length >= 1);
        assert.equal(v.amount, v.items.reduce((s, i) => s + i.qty * i.unitPrice, 0) + v.deliveryFee);
        assert.equal(v.currency, 'KRW');
        assert.ok(Number.isInteger(v.amount) && v.amount > 0);
        orders.set(v.orderId, v);
      } else if (v.type === 'delivery') {
        assert.ok(orders.has(v.orderId), 'a delivery follows its order');
        assert.ok(v.lat > 37 && v.lat < 38 && v.lon > 126 && v.lon < 128);
        assert.ok(v.speedKmh >= 0);
        if (v.harshBraking) {
          harsh++;
          assert.ok(v.accelerationMps2 <= -3.5);
        }
        if (v.status === 'delivered') deliveredOrders.add(v.orderId);
      } else if (v.type === 'review') {
        reviews++;
        assert.ok(deliveredOrders.has(v.orderId), 'a review follows a delivery');
        assert.ok(v.rating >= 1 && v.rating <= 5);
        if (FLAGGED_WORDS.some((w) => v.text.includes(w))) flagged++;
      } else if (v.type === 'pos-sale') {
        const k = `${v.storeId}/${v.sku}`;
        const before = stock.get(k);
        if (before !== undefined) assert.equal(v.stockAfter, before + v.restocked - v.qty);
        assert.ok(v.stockAfter >= 0);
        stock.set(k, v.stockAfter);
      } else {
        queries.set(v.query, (queries.get(v.query) ?? 0) + 1);
      }
    }
    assert.ok(harsh > 0, 'some harsh braking');
    assert.ok(reviews > 0 && flagged > 0 && flagged < reviews, `flagged ${flagged} of ${reviews}`);
    assert.ok(queries.has('치킨') && [...queries.keys()].some((q) => /^[a-z ]+$/.test(q)), 'Korean and English queries');
    const counts = [...queries.values()].sort((a, b) => b - a);
    assert.ok(counts[0]! > 5 * counts[counts.length - 1]!, 'popularity is skewed');
  });

  it('encodes events as JSON records with the event time as timestamp', () => {
    const [event] = new ShopEventStream({ seed: 9, startTime: START }).take(1);
    const rec = encodeShopEvent(event!);
    assert.equal(rec.key!.toString(), event!.key);
    assert.deepEqual(JSON.parse(rec.value!.toString()), event!.value);
    assert.equal(rec.timestamp, event!.timestamp);
    assert.deepEqual(rec.headers, [{ key: 'event-type', value: Buffer.from(event!.kind) }]);
  });
});
