"""The oracle: every warehouse table restated directly in PostgreSQL SQL over the shop's OLTP tables.

Each query reads only `shop.public` (orders, orders_pay, product_catalog), never another layer, so that it is an
independent restatement of the business logic that the streamed tables must equal once the stream is quiet.
Rows come back ordered by primary key, numerics as Decimal, timestamps as datetime, days as date.

The integration tests and `warehouse bench` (which checks every contender's final tables) share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from warehouse.identifiers import pg

MAX_DIFF_LINES = 20


@dataclass(frozen=True)
class OracleTable:
    columns: tuple[str, ...]
    key: tuple[str, ...]
    query: LiteralString
    # Event-time tables: the windows that must be final (a query over the shop giving `cutoff`), and how to read
    # the streamed table: its rows plus the late changes it kept aside (`{relation}` is the streamed table).
    cutoff: LiteralString | None = None
    actual: LiteralString | None = None


ODS_ORDERS = OracleTable(
    columns=("order_id", "user_id", "shop_id", "product_id", "buy_fee", "order_status", "create_time", "update_time"),
    key=("order_id",),
    query="""
SELECT order_id, user_id, shop_id, product_id, buy_fee, order_status, create_time, update_time
FROM public.orders
ORDER BY order_id""",
)

ODS_ORDERS_PAY = OracleTable(
    columns=("pay_id", "order_id", "pay_platform", "pay_time"),
    key=("pay_id",),
    query="""
SELECT pay_id, order_id, pay_platform, pay_time
FROM public.orders_pay
ORDER BY pay_id""",
)

ODS_PRODUCT_CATALOG = OracleTable(
    columns=("product_id", "catalog_name", "updated_at"),
    key=("product_id",),
    query="""
SELECT product_id, catalog_name, updated_at
FROM public.product_catalog
ORDER BY product_id""",
)

# A payment without its order yet (or any more) is a row with the order's columns and catalog_name NULL.
DWD_ORDERS = OracleTable(
    columns=(
        "order_id",
        "user_id",
        "shop_id",
        "product_id",
        "buy_fee",
        "order_status",
        "create_time",
        "catalog_name",
        "pay_id",
        "pay_platform",
        "pay_time",
    ),
    key=("order_id",),
    query="""
SELECT coalesce(o.order_id, p.order_id) AS order_id,
       o.user_id, o.shop_id, o.product_id, o.buy_fee, o.order_status, o.create_time,
       c.catalog_name,
       p.pay_id, p.pay_platform, p.pay_time
FROM public.orders AS o
FULL OUTER JOIN public.orders_pay AS p ON p.order_id = o.order_id
LEFT JOIN public.product_catalog AS c ON c.product_id = o.product_id
ORDER BY 1""",
)

# Only orders count (payment-only keys do not); a payment only marks its order as paid.
DWS_USER_DAILY = OracleTable(
    columns=("user_id", "ds", "order_cnt", "paid_cnt", "gmv", "paid_gmv"),
    key=("user_id", "ds"),
    query="""
SELECT o.user_id,
       o.create_time::date AS ds,
       count(*)::bigint AS order_cnt,
       count(p.pay_id)::bigint AS paid_cnt,
       sum(o.buy_fee)::numeric(18, 2) AS gmv,
       coalesce(sum(o.buy_fee) FILTER (WHERE p.pay_id IS NOT NULL), 0)::numeric(18, 2) AS paid_gmv
FROM public.orders AS o
LEFT JOIN public.orders_pay AS p ON p.order_id = o.order_id
GROUP BY o.user_id, o.create_time::date
ORDER BY 1, 2""",
)

DWS_SHOP_DAILY = OracleTable(
    columns=("shop_id", "ds", "order_cnt", "paid_cnt", "gmv", "paid_gmv"),
    key=("shop_id", "ds"),
    query="""
SELECT o.shop_id,
       o.create_time::date AS ds,
       count(*)::bigint AS order_cnt,
       count(p.pay_id)::bigint AS paid_cnt,
       sum(o.buy_fee)::numeric(18, 2) AS gmv,
       coalesce(sum(o.buy_fee) FILTER (WHERE p.pay_id IS NOT NULL), 0)::numeric(18, 2) AS paid_gmv
FROM public.orders AS o
LEFT JOIN public.orders_pay AS p ON p.order_id = o.order_id
GROUP BY o.shop_id, o.create_time::date
ORDER BY 1, 2""",
)

ADS_USER_METRICS = OracleTable(
    columns=("user_id", "total_orders", "total_gmv", "paid_gmv", "active_days", "last_order_date"),
    key=("user_id",),
    query="""
SELECT o.user_id,
       count(*)::bigint AS total_orders,
       sum(o.buy_fee)::numeric(18, 2) AS total_gmv,
       coalesce(sum(o.buy_fee) FILTER (WHERE p.pay_id IS NOT NULL), 0)::numeric(18, 2) AS paid_gmv,
       count(DISTINCT o.create_time::date)::bigint AS active_days,
       max(o.create_time)::date AS last_order_date
FROM public.orders AS o
LEFT JOIN public.orders_pay AS p ON p.order_id = o.order_id
GROUP BY o.user_id
ORDER BY 1""",
)

ADS_SHOP_METRICS = OracleTable(
    columns=("shop_id", "total_orders", "paid_orders", "total_gmv", "paid_gmv"),
    key=("shop_id",),
    query="""
SELECT o.shop_id,
       count(*)::bigint AS total_orders,
       count(p.pay_id)::bigint AS paid_orders,
       sum(o.buy_fee)::numeric(18, 2) AS total_gmv,
       coalesce(sum(o.buy_fee) FILTER (WHERE p.pay_id IS NOT NULL), 0)::numeric(18, 2) AS paid_gmv
FROM public.orders AS o
LEFT JOIN public.orders_pay AS p ON p.order_id = o.order_id
GROUP BY o.shop_id
ORDER BY 1""",
)

ODS_ORDERS_TIMED = OracleTable(
    columns=("order_id", "shop_id", "buy_fee", "order_status", "create_time"),
    key=("order_id",),
    query="""
SELECT order_id, shop_id, buy_fee, order_status, create_time
FROM public.orders
WHERE create_time IS NOT NULL
ORDER BY order_id""",
)

# Orders per shop and minute of create_time, for the minutes that are final: the watermark is the newest create_time
# seen minus an hour, so every minute that ended an hour before the newest order has fired. A change that arrived
# after its minute fired (late) is not in the minute but in _warehouse.late_rows (with its kind: +I/+U add, -U/-D
# take away), so the streamed minute plus its late changes must equal the minute computed from today's orders.
DWS_SHOP_MINUTELY = OracleTable(
    columns=("shop_id", "window_start", "window_end", "order_cnt", "gmv"),
    key=("shop_id", "window_start"),
    cutoff="SELECT max(create_time) - interval '1 hour' FROM public.orders",
    query="""
SELECT shop_id,
       date_trunc('minute', create_time) AS window_start,
       date_trunc('minute', create_time) + interval '1 minute' AS window_end,
       count(*)::bigint AS order_cnt,
       sum(buy_fee)::numeric(18, 2) AS gmv
FROM public.orders
WHERE shop_id IS NOT NULL AND create_time IS NOT NULL
  AND date_trunc('minute', create_time) + interval '1 minute' <= %(cutoff)s
GROUP BY 1, 2, 3
ORDER BY 1, 2""",
    actual="""
WITH late AS (
    SELECT (payload::jsonb ->> 'shop_id')::bigint AS shop_id,
           date_trunc('minute', event_time) AS window_start,
           CASE WHEN change IN ('+I', '+U') THEN 1 ELSE -1 END AS sign,
           (payload::jsonb ->> 'buy_fee')::numeric AS buy_fee
    FROM _warehouse.late_rows
    WHERE model = 'dws_shop_minutely' AND upstream = 'ods_orders_timed'
),
changes AS (
    SELECT shop_id, window_start, order_cnt, gmv FROM {relation}
    UNION ALL
    SELECT shop_id, window_start, sum(sign), sum(sign * buy_fee) FROM late WHERE shop_id IS NOT NULL GROUP BY 1, 2
)
SELECT shop_id, window_start, window_start + interval '1 minute' AS window_end,
       sum(order_cnt)::bigint AS order_cnt, sum(gmv)::numeric(18, 2) AS gmv
FROM changes
WHERE window_start + interval '1 minute' <= %(cutoff)s
GROUP BY 1, 2
HAVING sum(order_cnt) <> 0
ORDER BY 1, 2""",
)

ORACLE: dict[str, OracleTable] = {
    "ods.ods_orders": ODS_ORDERS,
    "ods.ods_orders_pay": ODS_ORDERS_PAY,
    "ods.ods_product_catalog": ODS_PRODUCT_CATALOG,
    "ods.ods_orders_timed": ODS_ORDERS_TIMED,
    "dwd.dwd_orders": DWD_ORDERS,
    "dws.dws_user_daily": DWS_USER_DAILY,
    "dws.dws_shop_daily": DWS_SHOP_DAILY,
    "ads.ads_user_metrics": ADS_USER_METRICS,
    "ads.ads_shop_metrics": ADS_SHOP_METRICS,
    "dws.dws_shop_minutely": DWS_SHOP_MINUTELY,
}
WINDOWED = ("ods.ods_orders_timed", "dws.dws_shop_minutely")


def cutoff(shop: psycopg.Connection[Any], layer_table: str) -> dict[str, Any]:
    """The parameters of an event-time table's queries (its final windows end by `cutoff`); {} for the others."""
    query = ORACLE[layer_table].cutoff
    if query is None:
        return {}
    row = shop.execute(query).fetchone()
    return {"cutoff": row[0] if row else None}


def oracle_rows(
    shop: psycopg.Connection[Any], layer_table: str, parameters: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """What `layer_table` (e.g. "dws.dws_user_daily") must contain, computed from the OLTP tables of `shop`."""
    table = ORACLE[layer_table]
    arguments = parameters if parameters is not None else cutoff(shop, layer_table)
    return shop.execute(table.query, arguments or None).fetchall()


def actual_rows(
    warehouse: psycopg.Connection[Any],
    layer_table: str,
    relation: tuple[str, str] | None = None,
    parameters: dict[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """The streamed table's rows: the oracle's columns, in the oracle's order, ordered by primary key.

    `relation` (schema, table) reads another table that must hold the same rows, e.g. a benchmark contender's.
    An event-time table is read with its late changes and cut where the oracle cuts (`parameters`).
    """
    table = ORACLE[layer_table]
    target = pg(*(relation or layer_table.split(".")))
    if table.actual is not None:
        return warehouse.execute(sql.SQL(table.actual).format(relation=target), parameters).fetchall()
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(pg(column) for column in table.columns),
        target,
        sql.SQL(", ").join(pg(column) for column in table.key),
    )
    return warehouse.execute(query).fetchall()


def diff(
    expected: Sequence[Sequence[Any]],
    actual: Sequence[Sequence[Any]],
    key_len: int,
    columns: Sequence[str] | None = None,
) -> str:
    """A readable difference keyed on the first `key_len` columns; the empty string when the rows are equal.

    Values compare with `==`, so Decimal('1.50') equals Decimal('1.5') but never the float 1.5.
    """
    want, want_duplicates = _by_key(expected, key_len)
    have, have_duplicates = _by_key(actual, key_len)
    lines = [f"duplicate key in expected: {key}" for key in want_duplicates]
    lines += [f"duplicate key in actual: {key}" for key in have_duplicates]
    missing = [key for key in want if key not in have]
    extra = [key for key in have if key not in want]
    changed = [key for key in want if key in have and tuple(want[key]) != tuple(have[key])]
    lines += [f"missing {key}: {tuple(want[key])}" for key in missing]
    lines += [f"extra {key}: {tuple(have[key])}" for key in extra]
    lines += [f"changed {key}: {_changes(want[key], have[key], columns)}" for key in changed]
    if not lines:
        return ""
    summary = (
        f"expected {len(expected)} rows, actual {len(actual)}: "
        f"{len(missing)} missing, {len(extra)} extra, {len(changed)} changed"
    )
    shown = lines[:MAX_DIFF_LINES]
    more = [f"... and {len(lines) - len(shown)} more"] if len(lines) > len(shown) else []
    return "\n".join([summary, *shown, *more])


def _by_key(
    rows: Sequence[Sequence[Any]], key_len: int
) -> tuple[dict[tuple[Any, ...], Sequence[Any]], list[tuple[Any, ...]]]:
    by_key: dict[tuple[Any, ...], Sequence[Any]] = {}
    duplicates = []
    for row in rows:
        key = tuple(row[:key_len])
        if key in by_key:
            duplicates.append(key)
        by_key[key] = row
    return by_key, duplicates


def _changes(want: Sequence[Any], have: Sequence[Any], columns: Sequence[str] | None) -> str:
    if len(want) != len(have):
        return f"expected {len(want)} columns {tuple(want)}, actual {len(have)} columns {tuple(have)}"
    names = columns or [f"#{index}" for index in range(len(want))]
    return ", ".join(
        f"{name}: expected {w!r}, actual {h!r}" for name, w, h in zip(names, want, have, strict=True) if w != h
    )
