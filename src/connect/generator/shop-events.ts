/**
 * The shop event stream: a deterministic sequence of the seed's use cases.
 *
 * Same seed and start time → the same events, in the same order, with the same timestamps.
 * Entities are consistent across topics: an order's id reappears in its delivery pings and in
 * its review, a mart's stock goes down with every POS sale and is refilled when it runs out.
 *
 * Event time advances by 1000/rate ms per event. About 2 % of events arrive late (their event
 * time lies 1–30 s in the past), so stream jobs meet out-of-order data. Search popularity is
 * Zipf-like, with one deterministic "trending" term per 10 minutes of event time.
 */
import {
  FLAGGED_WORDS,
  MARTS,
  PAYMENT_METHODS,
  PLATFORMS,
  PRODUCTS,
  RESTAURANTS,
  REVIEW_PHRASES,
  SEARCH_TERMS,
  SEOUL_BOUNDS,
} from './shop-catalog.ts';
import { cumulative, hashInts, SeededRandom, zipfCumulative } from './random.ts';

export type ShopEventKind = 'search' | 'order' | 'review' | 'delivery' | 'pos-sale';

export interface ShopTopics {
  searches: string;
  orders: string;
  reviews: string;
  deliveries: string;
  posSales: string;
}

export const DEFAULT_SHOP_TOPIC_PREFIX = 'shop.';

/** Topic names for a prefix (prepended verbatim): `shop.` → `shop.searches`, … */
export function shopTopics(prefix: string = DEFAULT_SHOP_TOPIC_PREFIX): ShopTopics {
  return {
    searches: `${prefix}searches`,
    orders: `${prefix}orders`,
    reviews: `${prefix}reviews`,
    deliveries: `${prefix}deliveries`,
    posSales: `${prefix}pos-sales`,
  };
}

export interface SearchEvent {
  type: 'search';
  eventId: string;
  userId: string;
  sessionId: string;
  query: string;
  category: string;
  platform: string;
  resultCount: number;
  eventTime: string;
}

export interface OrderItem {
  sku: string;
  name: string;
  qty: number;
  unitPrice: number;
}

export interface OrderEvent {
  type: 'order';
  orderId: string;
  userId: string;
  storeId: string;
  storeName: string;
  items: OrderItem[];
  deliveryFee: number;
  /** Total in KRW (items + delivery fee). */
  amount: number;
  currency: 'KRW';
  paymentMethod: string;
  eventTime: string;
}

export interface ReviewEvent {
  type: 'review';
  reviewId: string;
  orderId: string;
  userId: string;
  storeId: string;
  rating: number;
  text: string;
  eventTime: string;
}

export interface DeliveryEvent {
  type: 'delivery';
  deliveryId: string;
  orderId: string;
  driverId: string;
  /** 0 for the pick-up ping, then 1, 2, … */
  seq: number;
  status: 'picked_up' | 'en_route' | 'delivered';
  lat: number;
  lon: number;
  speedKmh: number;
  speedLimitKmh: number;
  /** Change of speed since the previous ping, m/s². */
  accelerationMps2: number;
  harshBraking: boolean;
  harshAcceleration: boolean;
  eventTime: string;
}

export interface PosSaleEvent {
  type: 'pos-sale';
  saleId: string;
  storeId: string;
  storeName: string;
  sku: string;
  productName: string;
  qty: number;
  unitPrice: number;
  amount: number;
  /** Units added just before this sale because the shelf was empty (0 otherwise). */
  restocked: number;
  stockAfter: number;
  paymentMethod: string;
  eventTime: string;
}

export type ShopEventValue = SearchEvent | OrderEvent | ReviewEvent | DeliveryEvent | PosSaleEvent;

export interface ShopEvent {
  kind: ShopEventKind;
  topic: string;
  /** user id (searches), order id (orders, reviews), driver id (deliveries), store id (POS sales). */
  key: string;
  value: ShopEventValue;
  /** Event time, ms since the epoch. */
  timestamp: number;
}

export interface ShopEventStreamOptions {
  seed?: number;
  /** Events per second of event time (default 50). */
  ratePerSecond?: number;
  /** Event time of the first event (default: now). */
  startTime?: number;
  topicPrefix?: string;
}

const KINDS: readonly ShopEventKind[] = ['search', 'order', 'review', 'delivery', 'pos-sale'];
const KIND_WEIGHTS = cumulative([45, 13, 7, 25, 10]);
const USERS = 5000;
const DRIVERS = 25;
const PING_INTERVAL_S = 5;
const SPEED_LIMIT_KMH = 50;
const HARSH_BRAKING_MPS2 = -3.5;
const HARSH_ACCELERATION_MPS2 = 3;
const TRENDING_BUCKET_MS = 10 * 60 * 1000;
const PENDING_ORDERS_MAX = 200;
const DELIVERED_ORDERS_KEPT = 500;

interface Driver {
  driverId: string;
  /** 0 (calm) … 1 (aggressive): scales speed noise and the chance of harsh events. */
  aggressiveness: number;
  trip: Trip | null;
}

interface Trip {
  order: OrderEvent;
  seq: number;
  pingsLeft: number;
  lat: number;
  lon: number;
  headingRad: number;
  speedKmh: number;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export class ShopEventStream {
  readonly topics: ShopTopics;
  readonly seed: number;
  private readonly rng: SeededRandom;
  /** Event time between two events: 1000 / rate. */
  readonly intervalMs: number;
  private time: number;
  private count = 0;
  private readonly userZipf = zipfCumulative(USERS, 0.8);
  private readonly restaurantZipf = zipfCumulative(RESTAURANTS.length, 0.9);
  private readonly productZipf = zipfCumulative(PRODUCTS.length, 0.9);
  private readonly drivers: Driver[];
  private readonly pendingOrders: OrderEvent[] = [];
  private readonly deliveredOrders: OrderEvent[] = [];
  private readonly stock = new Map<string, number>();
  private readonly sessions = new Map<string, { sessionId: string; lastSeen: number }>();
  private trendingBucket = -1;
  private trendingCumulative: number[] = [];

  constructor(opts: ShopEventStreamOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.rng = new SeededRandom(this.seed);
    this.intervalMs = 1000 / (opts.ratePerSecond ?? 50);
    this.time = opts.startTime ?? Date.now();
    this.topics = shopTopics(opts.topicPrefix);
    this.drivers = Array.from({ length: DRIVERS }, (_, i) => ({
      driverId: `d-${String(i + 1).padStart(3, '0')}`,
      aggressiveness: round(this.rng.next() ** 2, 3),
      trip: null,
    }));
  }

  /** Events produced so far. */
  get produced(): number {
    return this.count;
  }

  /** Event time the next event will carry (before late-arrival jitter). */
  get clock(): number {
    return this.time;
  }

  /** Moves event time forward (e.g. after the paced generator fell behind and skipped). */
  advanceTo(time: number): void {
    if (time > this.time) this.time = time;
  }

  next(): ShopEvent {
    const now = Math.floor(this.time);
    this.time += this.intervalMs;
    this.count++;
    const late = this.rng.chance(0.02) ? this.rng.int(1_000, 30_000) : 0;
    const timestamp = now - late;
    const kind = KINDS[this.rng.fromCumulative(KIND_WEIGHTS)]!;
    switch (kind) {
      case 'search':
        return this.search(timestamp);
      case 'order':
        return this.order(timestamp);
      case 'review':
        return this.review(timestamp) ?? this.order(timestamp);
      case 'delivery':
        return this.delivery(timestamp) ?? this.search(timestamp);
      case 'pos-sale':
        return this.posSale(timestamp);
    }
  }

  /** The next `n` events. */
  take(n: number): ShopEvent[] {
    const out: ShopEvent[] = [];
    for (let i = 0; i < n; i++) out.push(this.next());
    return out;
  }

  private id(prefix: string): string {
    return `${prefix}-${this.seed}-${this.count}`;
  }

  private user(): string {
    return `u-${String(this.rng.fromCumulative(this.userZipf) + 1).padStart(5, '0')}`;
  }

  private termIndex(timestamp: number): number {
    const bucket = Math.floor(timestamp / TRENDING_BUCKET_MS);
    if (bucket !== this.trendingBucket) {
      // One term (outside the top 5) trends for this bucket: its weight rises to the top 3's.
      this.trendingBucket = bucket;
      const trending = 5 + (hashInts(this.seed, bucket) % (SEARCH_TERMS.length - 5));
      const weights = SEARCH_TERMS.map((_, r) => 1 / Math.pow(r + 1, 1.07));
      weights[trending] = weights[2]!;
      this.trendingCumulative = cumulative(weights);
    }
    return this.rng.fromCumulative(this.trendingCumulative);
  }

  private search(timestamp: number): ShopEvent {
    const userId = this.user();
    let session = this.sessions.get(userId);
    if (!session || timestamp - session.lastSeen > 30 * 60 * 1000) {
      session = { sessionId: this.id('s'), lastSeen: timestamp };
      this.sessions.set(userId, session);
      if (this.sessions.size > 2000) this.sessions.delete(this.sessions.keys().next().value!);
    }
    session.lastSeen = Math.max(session.lastSeen, timestamp);
    const term = SEARCH_TERMS[this.termIndex(timestamp)]!;
    const value: SearchEvent = {
      type: 'search',
      eventId: this.id('q'),
      userId,
      sessionId: session.sessionId,
      query: term.query,
      category: term.category,
      platform: this.rng.pick(PLATFORMS),
      resultCount: this.rng.chance(0.03) ? 0 : this.rng.int(1, 300),
      eventTime: new Date(timestamp).toISOString(),
    };
    return { kind: 'search', topic: this.topics.searches, key: userId, value, timestamp };
  }

  private order(timestamp: number): ShopEvent {
    const store = RESTAURANTS[this.rng.fromCumulative(this.restaurantZipf)]!;
    const lines = this.rng.int(1, Math.min(4, store.menu.length));
    const items: OrderItem[] = [];
    const used = new Set<number>();
    for (let i = 0; i < lines; i++) {
      let m = this.rng.int(0, store.menu.length - 1);
      while (used.has(m)) m = (m + 1) % store.menu.length;
      used.add(m);
      const item = store.menu[m]!;
      items.push({ sku: item.sku, name: item.name, qty: this.rng.chance(0.8) ? 1 : this.rng.int(2, 3), unitPrice: item.price });
    }
    const subtotal = items.reduce((sum, i) => sum + i.qty * i.unitPrice, 0);
    const deliveryFee = subtotal >= 30000 ? 0 : this.rng.pick([1000, 2000, 3000, 3500]);
    const value: OrderEvent = {
      type: 'order',
      orderId: this.id('o'),
      userId: this.user(),
      storeId: store.storeId,
      storeName: store.name,
      items,
      deliveryFee,
      amount: subtotal + deliveryFee,
      currency: 'KRW',
      paymentMethod: this.rng.pick(PAYMENT_METHODS),
      eventTime: new Date(timestamp).toISOString(),
    };
    this.pendingOrders.push(value);
    if (this.pendingOrders.length > PENDING_ORDERS_MAX) this.pendingOrders.shift(); // picked up at the counter instead
    return { kind: 'order', topic: this.topics.orders, key: value.orderId, value, timestamp };
  }

  private review(timestamp: number): ShopEvent | null {
    if (this.deliveredOrders.length === 0) return null;
    const order = this.deliveredOrders.splice(this.rng.int(0, this.deliveredOrders.length - 1), 1)[0]!;
    // Ratings lean positive, as on real delivery apps.
    const rating = 1 + this.rng.fromCumulative(cumulative([6, 6, 13, 30, 45]));
    let text = this.rng.pick(REVIEW_PHRASES[rating - 1]!);
    if (this.rng.chance(0.3)) text += ' ' + this.rng.pick(REVIEW_PHRASES[rating - 1]!);
    if (this.rng.chance(rating <= 2 ? 0.35 : 0.06)) {
      const word = this.rng.pick(FLAGGED_WORDS);
      text = this.rng.chance(0.5) ? `${word} ${text}` : `${text} ${word}`;
    }
    const value: ReviewEvent = {
      type: 'review',
      reviewId: this.id('r'),
      orderId: order.orderId,
      userId: order.userId,
      storeId: order.storeId,
      rating,
      text,
      eventTime: new Date(timestamp).toISOString(),
    };
    return { kind: 'review', topic: this.topics.reviews, key: order.orderId, value, timestamp };
  }

  private delivery(timestamp: number): ShopEvent | null {
    const driver = this.rng.pick(this.drivers);
    if (!driver.trip) {
      const order = this.pendingOrders.shift();
      if (!order) return null;
      driver.trip = {
        order,
        seq: 0,
        pingsLeft: this.rng.int(4, 14),
        lat: SEOUL_BOUNDS.minLat + this.rng.next() * (SEOUL_BOUNDS.maxLat - SEOUL_BOUNDS.minLat),
        lon: SEOUL_BOUNDS.minLon + this.rng.next() * (SEOUL_BOUNDS.maxLon - SEOUL_BOUNDS.minLon),
        headingRad: this.rng.next() * 2 * Math.PI,
        speedKmh: 0,
      };
    }
    const trip = driver.trip;
    const status: DeliveryEvent['status'] = trip.seq === 0 ? 'picked_up' : trip.pingsLeft <= 1 ? 'delivered' : 'en_route';
    const before = trip.speedKmh;
    if (status === 'en_route') {
      const cruise = 35 + driver.aggressiveness * 35;
      let target = cruise + this.rng.normal() * (6 + driver.aggressiveness * 14);
      if (this.rng.chance(0.08 + driver.aggressiveness * 0.15)) target = Math.max(0, before - this.rng.int(25, 60)); // sudden stop
      trip.speedKmh = Math.min(110, Math.max(0, target));
      trip.headingRad += this.rng.normal() * 0.4;
      const km = (trip.speedKmh * PING_INTERVAL_S) / 3600;
      trip.lat += (km / 111) * Math.cos(trip.headingRad);
      trip.lon += (km / 88) * Math.sin(trip.headingRad);
      trip.lat = Math.min(SEOUL_BOUNDS.maxLat, Math.max(SEOUL_BOUNDS.minLat, trip.lat));
      trip.lon = Math.min(SEOUL_BOUNDS.maxLon, Math.max(SEOUL_BOUNDS.minLon, trip.lon));
    } else {
      trip.speedKmh = 0;
    }
    const acceleration = (trip.speedKmh - before) / 3.6 / PING_INTERVAL_S;
    const value: DeliveryEvent = {
      type: 'delivery',
      deliveryId: `dl-${trip.order.orderId}`,
      orderId: trip.order.orderId,
      driverId: driver.driverId,
      seq: trip.seq,
      status,
      lat: round(trip.lat, 6),
      lon: round(trip.lon, 6),
      speedKmh: round(trip.speedKmh, 1),
      speedLimitKmh: SPEED_LIMIT_KMH,
      accelerationMps2: round(acceleration, 2),
      harshBraking: status === 'en_route' && acceleration <= HARSH_BRAKING_MPS2,
      harshAcceleration: status === 'en_route' && acceleration >= HARSH_ACCELERATION_MPS2,
      eventTime: new Date(timestamp).toISOString(),
    };
    trip.seq++;
    trip.pingsLeft--;
    if (status === 'delivered') {
      driver.trip = null;
      this.deliveredOrders.push(trip.order);
      if (this.deliveredOrders.length > DELIVERED_ORDERS_KEPT) this.deliveredOrders.shift();
    }
    return { kind: 'delivery', topic: this.topics.deliveries, key: driver.driverId, value, timestamp };
  }

  private posSale(timestamp: number): ShopEvent {
    const martIndex = this.rng.int(0, MARTS.length - 1);
    const productIndex = this.rng.fromCumulative(this.productZipf);
    const mart = MARTS[martIndex]!;
    const product = PRODUCTS[productIndex]!;
    const stockKey = `${mart.storeId}/${product.sku}`;
    let stock = this.stock.get(stockKey) ?? 20 + (hashInts(this.seed, martIndex, productIndex) % 60);
    const qty = this.rng.chance(0.75) ? 1 : this.rng.int(2, 4);
    let restocked = 0;
    if (stock < qty) {
      restocked = 50;
      stock += restocked;
    }
    stock -= qty;
    this.stock.set(stockKey, stock);
    const value: PosSaleEvent = {
      type: 'pos-sale',
      saleId: this.id('ps'),
      storeId: mart.storeId,
      storeName: mart.name,
      sku: product.sku,
      productName: product.name,
      qty,
      unitPrice: product.price,
      amount: qty * product.price,
      restocked,
      stockAfter: stock,
      paymentMethod: this.rng.pick(PAYMENT_METHODS),
      eventTime: new Date(timestamp).toISOString(),
    };
    return { kind: 'pos-sale', topic: this.topics.posSales, key: mart.storeId, value, timestamp };
  }
}
