{{ config(primary_key=['device_id', 'read_date']) }}

SELECT device_id,
       read_date,
       COUNT(*) AS readings,
       MAX(temperature) AS max_temperature
FROM {{ ref('dwd_readings') }}
GROUP BY device_id, read_date
