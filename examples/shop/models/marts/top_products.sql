-- Top 10 products of a period: the last `period_days` days (default 7) up to the newest order,
-- counting delivery orders (their items) and in-store POS sales alike.
--   tributary models build --select top_products --vars '{"period_days": 30}'
{{ config(materialized='table', tags=['daily']) }}

with period as (
  select max(ordered_at) as hi, max(ordered_at) - to_days({{ var('period_days', 7) }}) as lo
  from {{ ref('stg_order_items') }}
),
sales as (
  select sku, product_name, qty, revenue, order_id, 'delivery' as channel, ordered_at as sold_at
  from {{ ref('stg_order_items') }}
  union all
  select sku, productName, qty, amount, saleId, 'store', eventTime
  from {{ source('raw', 'pos_sales') }}
)
select
  row_number() over (order by sum(s.revenue) desc, s.sku) as rank,
  s.sku,
  any_value(s.product_name)                               as product_name,
  sum(s.qty)                                              as units,
  sum(s.revenue)                                          as revenue,
  count(distinct s.order_id)                              as orders,
  count(distinct s.channel)                               as channels,
  p.lo                                                    as period_start,
  p.hi                                                    as period_end
from sales s, period p
where s.sold_at > p.lo and s.sold_at <= p.hi
group by s.sku, p.lo, p.hi
qualify rank <= 10
order by rank
