{{ config(primary_key=['reading_id']) }}

SELECT reading_id, device_id, temperature, read_at
FROM {{ source('app', 'readings') }}
