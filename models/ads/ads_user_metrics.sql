{{ config(primary_key=['user_id']) }}

SELECT user_id,
       SUM(order_cnt) AS total_orders,
       CAST(SUM(gmv) AS DECIMAL(18, 2)) AS total_gmv,
       CAST(SUM(paid_gmv) AS DECIMAL(18, 2)) AS paid_gmv,
       COUNT(*) AS active_days,
       MAX(ds) AS last_order_date
FROM {{ ref('dws_user_daily') }}
GROUP BY user_id
