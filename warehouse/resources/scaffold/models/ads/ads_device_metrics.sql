{{ config(primary_key=['device_id']) }}

SELECT device_id,
       SUM(readings) AS readings,
       MAX(max_temperature) AS max_temperature,
       COUNT(*) AS active_days
FROM {{ ref('dws_device_daily') }}
GROUP BY device_id
