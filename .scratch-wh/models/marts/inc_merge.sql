{{ config(materialized='incremental', unique_key='grp', partition_by='part') }}
select grp, n, total, 'p' || (grp % 2) as part from {{ ref('by_grp') }}
{% if is_incremental() %} where grp >= 1 {% endif %}
