/**
 * Driver score: per driver, sessions of delivery pings (a session ends after 2 minutes without
 * pings), with counts of harsh braking, harsh acceleration and speeding; the score starts at
 * 100 and loses points per event per 100 pings. Every update of a session's score goes to
 * `shop.driver-scores` (key: driver id).
 */
import { defineStreamApp, SessionWindows } from '../../../src/index.ts';
import type { DeliveryEvent } from '../../../src/connect/generator/shop-events.ts';

interface Stats {
  pings: number;
  harshBraking: number;
  harshAcceleration: number;
  speeding: number;
  maxSpeedKmh: number;
}

const zero = (): Stats => ({ pings: 0, harshBraking: 0, harshAcceleration: 0, speeding: 0, maxSpeedKmh: 0 });

export default defineStreamApp({
  id: 'driver-score',
  description: 'driving score per driver session (session windows, gap 2 min)',
  build(b) {
    b.stream<string, DeliveryEvent>('shop.deliveries')
      .groupByKey()
      .windowedBy(SessionWindows.withGap(120_000).grace(30_000))
      .aggregate<Stats>(
        zero,
        (_driver, p, s) => ({
          pings: s.pings + 1,
          harshBraking: s.harshBraking + (p.harshBraking ? 1 : 0),
          harshAcceleration: s.harshAcceleration + (p.harshAcceleration ? 1 : 0),
          speeding: s.speeding + (p.speedKmh > p.speedLimitKmh ? 1 : 0),
          maxSpeedKmh: Math.max(s.maxSpeedKmh, p.speedKmh),
        }),
        (_driver, a, c) => ({
          pings: a.pings + c.pings,
          harshBraking: a.harshBraking + c.harshBraking,
          harshAcceleration: a.harshAcceleration + c.harshAcceleration,
          speeding: a.speeding + c.speeding,
          maxSpeedKmh: Math.max(a.maxSpeedKmh, c.maxSpeedKmh),
        }),
        { name: 'driver-sessions' },
      )
      .toStream((w) => w.key)
      .filter((_d, s) => s !== null)
      .mapValues((s, driverId) => {
        const per100 = (n: number) => (100 * n) / Math.max(1, s!.pings);
        const score = Math.max(0, Math.round(100 - 3 * per100(s!.harshBraking) - 3 * per100(s!.harshAcceleration) - 1 * per100(s!.speeding)));
        return { driverId, score, ...s! };
      })
      .to('shop.driver-scores');
  },
});
