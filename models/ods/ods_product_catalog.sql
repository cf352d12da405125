{{ config(primary_key=['product_id']) }}

SELECT product_id, catalog_name, updated_at
FROM {{ source('shop', 'product_catalog') }}
