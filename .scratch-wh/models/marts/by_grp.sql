select grp, count(*) as n, sum(id) as total from {{ ref('stg_orders') }} group by grp
