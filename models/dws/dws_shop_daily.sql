{{ config(primary_key=['shop_id', 'ds']) }}

SELECT shop_id,
       CAST(create_time AS DATE) AS ds,
       COUNT(*) AS order_cnt,
       COUNT(pay_id) AS paid_cnt,
       CAST(SUM(buy_fee) AS DECIMAL(18, 2)) AS gmv,
       CAST(COALESCE(SUM(CASE WHEN pay_id IS NOT NULL THEN buy_fee END), 0) AS DECIMAL(18, 2)) AS paid_gmv
FROM {{ ref('dwd_orders') }}
WHERE shop_id IS NOT NULL
GROUP BY shop_id, CAST(create_time AS DATE)
