{#- One wide row per order, merged from two streams by order_id: each stream writes only its own
    columns, so a payment that arrives before its order is kept and completed later.
    The payments stream is keyed by pay_id but writes by order_id; an order has at most one payment,
    so Flink need not keep every payment in a SinkUpsertMaterializer (`warehouse check` WH006). -#}
{{ config(materialized='partial_update', primary_key=['order_id'], upsert_materialize='none') }}

{{ stream('orders') }}
SELECT o.order_id, o.user_id, o.shop_id, o.product_id, o.buy_fee, o.order_status, o.create_time,
       c.catalog_name
FROM {{ ref('ods_orders') }} AS o
LEFT JOIN {{ lookup('ods_product_catalog', cache='lru', max_rows=100000, ttl='10min') }}
  FOR SYSTEM_TIME AS OF o.proc_time AS c
  ON o.product_id = c.product_id

{{ stream('payments') }}
SELECT order_id, pay_id, pay_platform, pay_time
FROM {{ ref('ods_orders_pay') }}
