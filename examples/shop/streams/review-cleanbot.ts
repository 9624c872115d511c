/**
 * Review clean-bot: flags reviews that contain abusive words and writes them, with the words
 * found, to `shop.reviews-flagged`; keeps the number of flagged reviews per store (store
 * `flagged-per-store`, queryable over HTTP).
 */
import { defineStreamApp } from '../../../src/index.ts';
import { FLAGGED_WORDS } from '../../../src/connect/generator/index.ts';
import type { ReviewEvent } from '../../../src/connect/generator/shop-events.ts';

const words = FLAGGED_WORDS.map((w) => w.toLowerCase());

export default defineStreamApp({
  id: 'review-cleanbot',
  description: 'flags abusive reviews to shop.reviews-flagged',
  build(b) {
    const flagged = b
      .stream<string, ReviewEvent>('shop.reviews')
      .mapValues((r) => ({ review: r, matched: words.filter((w) => r.text.toLowerCase().includes(w)) }))
      .filter((_k, x) => x.matched.length > 0)
      .mapValues((x) => ({
        reviewId: x.review.reviewId,
        orderId: x.review.orderId,
        storeId: x.review.storeId,
        userId: x.review.userId,
        rating: x.review.rating,
        text: x.review.text,
        matched: x.matched,
        eventTime: x.review.eventTime,
        action: 'hidden-pending-moderation',
      }));
    flagged.to('shop.reviews-flagged');
    flagged.groupBy((_k, f) => f.storeId, { name: 'by-store' }).count({ name: 'flagged-per-store' });
  },
});
