{{ config(primary_key=['shop_id']) }}

SELECT shop_id,
       SUM(order_cnt) AS total_orders,
       SUM(paid_cnt) AS paid_orders,
       CAST(SUM(gmv) AS DECIMAL(18, 2)) AS total_gmv,
       CAST(SUM(paid_gmv) AS DECIMAL(18, 2)) AS paid_gmv
FROM {{ ref('dws_shop_daily') }}
GROUP BY shop_id
