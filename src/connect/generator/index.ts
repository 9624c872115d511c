import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BusProducer } from '../../bus/types.ts';
import type { GeneratorConfig } from '../../config/types.ts';
import { ShopGenerator } from './shop.ts';

export { ShopGenerator, encodeShopEvent, type ShopGeneratorOptions, type GeneratorStats } from './shop.ts';
export {
  ShopEventStream,
  shopTopics,
  DEFAULT_SHOP_TOPIC_PREFIX,
  type ShopEvent,
  type ShopEventKind,
  type ShopEventValue,
  type ShopTopics,
  type ShopEventStreamOptions,
  type SearchEvent,
  type OrderEvent,
  type OrderItem,
  type ReviewEvent,
  type DeliveryEvent,
  type PosSaleEvent,
} from './shop-events.ts';
export { FLAGGED_WORDS, SEARCH_TERMS, RESTAURANTS, MARTS, PRODUCTS } from './shop-catalog.ts';
export { SeededRandom } from './random.ts';

/** What every built-in generator offers the runtime. */
export interface Generator {
  readonly name: string;
  readonly running: boolean;
  topicNames(): string[];
  start(): void;
  stop(): Promise<void>;
}

/**
 * Builds the generator a config entry describes.
 *
 * @example
 * ```ts
 * const gen = createGenerator({ kind: 'shop', ratePerSecond: 50 }, { producer: bus.producer() });
 * gen.start();
 * ```
 */
export function createGenerator(
  config: GeneratorConfig,
  deps: { producer: BusProducer; logger?: Logger; registry?: Registry; name?: string },
): Generator {
  switch (config.kind) {
    case 'shop':
      return new ShopGenerator({
        ...deps,
        ratePerSecond: config.ratePerSecond,
        ...(config.seed !== undefined ? { seed: config.seed } : {}),
        ...(config.topicPrefix !== undefined ? { topicPrefix: config.topicPrefix } : {}),
      });
  }
}
