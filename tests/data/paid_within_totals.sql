-- Singular data test: a shop-day never has more paid orders or paid GMV than orders or GMV.
SELECT shop_id, ds, order_cnt, paid_cnt, gmv, paid_gmv
FROM {{ ref('dws_shop_daily') }}
WHERE paid_cnt > order_cnt OR paid_gmv > gmv
