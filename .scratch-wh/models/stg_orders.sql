{{ config(materialized='view') }}
select id, v, id % 3 as grp from {{ source('raw', 'orders') }}
