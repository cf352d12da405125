{{ config(primary_key=['reading_id']) }}

SELECT reading_id, device_id, temperature, read_at, CAST(read_at AS DATE) AS read_date
FROM {{ ref('ods_readings') }}
WHERE temperature IS NOT NULL
