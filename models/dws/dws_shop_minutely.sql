{#- Orders and GMV per shop and minute of create_time: a 1-minute event-time window (TUMBLE).
    A minute is emitted, final, once the watermark of ods_orders_timed (create_time - 1 hour) passes its end;
    a change to one of its orders that arrives later is a late event and is dropped. Changes that arrive in
    time (updates, deletes) are retracted from the minute. -#}
{{ config(primary_key=['shop_id', 'window_start']) }}

SELECT shop_id,
       window_start,
       window_end,
       COUNT(*) AS order_cnt,
       CAST(SUM(buy_fee) AS DECIMAL(18, 2)) AS gmv
FROM TABLE(TUMBLE(TABLE {{ ref('ods_orders_timed') }}, DESCRIPTOR(create_time), INTERVAL '1' MINUTE))
WHERE shop_id IS NOT NULL
GROUP BY shop_id, window_start, window_end
