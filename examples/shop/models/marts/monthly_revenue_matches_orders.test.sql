-- A custom SQL test: it selects the failing rows. Every month's revenue in the mart must equal
-- the sum of that month's raw orders (months before the newest, which the sink may still be
-- filling after the last build).
{{ config(severity='error') }}

select m.month, m.revenue as mart_revenue, o.revenue as raw_revenue
from (select month, sum(revenue) as revenue from {{ ref('monthly_order_stats') }} group by month) m
join (select strftime(eventTime, '%Y-%m') as month, sum(amount) as revenue from {{ source('raw', 'orders') }} group by 1) o using (month)
where m.month < (select max(month) from {{ ref('monthly_order_stats') }})
  and m.revenue <> o.revenue
