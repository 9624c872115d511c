-- Monthly order statistics per payment method, one lake partition per month. Incremental:
-- a run recomputes only the newest month it holds and later ones, replacing exactly those
-- partitions (delete+insert), so earlier months are never rewritten.
{{ config(materialized='incremental', incremental_strategy='delete+insert', partition_by='month') }}

select
  strftime(eventTime, '%Y-%m')        as month,
  paymentMethod                       as payment_method,
  count(*)                            as orders,
  count(distinct userId)              as customers,
  sum(amount)                         as revenue,
  round(avg(amount), 2)               as avg_order_value,
  sum(deliveryFee)                    as delivery_fees
from {{ source('raw', 'orders') }}
{% if is_incremental() %}
where strftime(eventTime, '%Y-%m') >= (select max(month) from {{ this }})
{% endif %}
group by all
