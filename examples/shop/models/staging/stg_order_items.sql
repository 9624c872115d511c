-- One row per ordered item (orders carry their items as a JSON list): the shape the product
-- marts aggregate. A view: always current, nothing stored.
{{ config(materialized='view') }}

select
  o.orderId                          as order_id,
  o.userId                           as user_id,
  o.storeId                          as store_id,
  o.eventTime                        as ordered_at,
  item.sku                           as sku,
  item.name                          as product_name,
  item.qty                           as qty,
  item.unitPrice                     as unit_price,
  item.qty * item.unitPrice          as revenue
from {{ source('raw', 'orders') }} o,
  unnest(from_json(o.items, '[{"sku":"VARCHAR","name":"VARCHAR","qty":"BIGINT","unitPrice":"BIGINT"}]')) as t(item)
