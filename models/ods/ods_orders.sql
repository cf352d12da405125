{{ config(primary_key=['order_id']) }}

SELECT order_id, user_id, shop_id, product_id, buy_fee, order_status, create_time, update_time
FROM {{ source('shop', 'orders') }}
