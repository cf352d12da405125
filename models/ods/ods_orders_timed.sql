{#- Orders with an event time: the input of event-time windows (dws_shop_minutely).
    Flink fails a job whose watermark column is NULL in any row, and dwd_orders has such rows (a payment
    that arrives before its order has no create_time yet), so the watermark lives here, where every row
    has its create_time. -#}
{{ config(primary_key=['order_id']) }}

SELECT order_id, shop_id, buy_fee, order_status, create_time
FROM {{ source('shop', 'orders') }}
WHERE create_time IS NOT NULL
