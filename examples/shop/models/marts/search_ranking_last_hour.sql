-- Last-hour search term ranking: the most searched terms in the hour up to the newest search
-- (event time, so a replay or backfill ranks the same way), with their share of all searches.
{{ config(materialized='table', tags=['hourly']) }}

with window_end as (
  select max(eventTime) as hi from {{ source('raw', 'searches') }}
),
recent as (
  select s.query, s.category, s.userId
  from {{ source('raw', 'searches') }} s, window_end w
  where s.eventTime > w.hi - interval 1 hour and s.eventTime <= w.hi
)
select
  row_number() over (order by count(*) desc, query) as rank,
  query,
  any_value(category)                               as category,
  count(*)                                          as searches,
  count(distinct userId)                            as users,
  round(count(*) * 100.0 / sum(count(*)) over (), 2) as share_pct,
  (select hi - interval 1 hour from window_end)     as window_start,
  (select hi from window_end)                       as window_end
from recent
group by query
order by rank
