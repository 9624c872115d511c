/**
 * POS inventory: a table of stock per product in each mart, from the POS sales (which sell
 * stock) and the restocks they report. The first sale seen of a product sets its level from the
 * sale's `stockAfter`; later ones apply `restocked - qty`. The table is the store `stock`
 * (GET /api/streams/pos-inventory/stores/stock?key=<storeId>/<sku>) and its changes go to the
 * compacted topic `shop.inventory`.
 */
import { defineStreamApp } from '../../../src/index.ts';
import type { PosSaleEvent } from '../../../src/connect/generator/shop-events.ts';

interface Stock {
  storeId: string;
  sku: string;
  productName: string;
  stock: number;
  sold: number;
  restocked: number;
  updatedAt: string;
}

export default defineStreamApp({
  id: 'pos-inventory',
  description: 'stock per product and mart from POS sales and restocks',
  build(b) {
    b.stream<string, PosSaleEvent>('shop.pos-sales')
      .groupBy((_store, s) => `${s.storeId}/${s.sku}`, { name: 'by-product' })
      .aggregate<Stock | null>(
        () => null,
        (_k, s, cur) => ({
          storeId: s.storeId,
          sku: s.sku,
          productName: s.productName,
          stock: cur === null ? s.stockAfter : cur.stock + s.restocked - s.qty,
          sold: (cur?.sold ?? 0) + s.qty,
          restocked: (cur?.restocked ?? 0) + s.restocked,
          updatedAt: s.eventTime,
        }),
        { name: 'stock' },
      )
      .toStream()
      .to('shop.inventory');
  },
});
