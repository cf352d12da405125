{{ config(primary_key=['pay_id']) }}

SELECT pay_id, order_id, pay_platform, pay_time
FROM {{ source('shop', 'orders_pay') }}
