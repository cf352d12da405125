"""P3: PostgreSQL materialized views over the OLTP tables, refreshed in a loop.

The views (database `shop`, schema `bench_p3`) restate the oracle's logic in layers: `dwd_orders` over the OLTP
tables, the DWS views over `dwd_orders`, the ADS views over the DWS views. A refresh round refreshes them upstream
first with `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers are never blocked; it needs the unique indexes).
"""

from __future__ import annotations

import threading
import time
from typing import LiteralString

import psycopg
from psycopg import sql

from warehouse.bench.contender import Contender, Progress
from warehouse.bench.correctness import Relation
from warehouse.bench.freshness import Layer, example_layers
from warehouse.config import StoreConnection
from warehouse.demo.schema import SHOP_DATABASE
from warehouse.errors import WarehouseError
from warehouse.identifiers import pg
from warehouse.store import connect

SCHEMA = "bench_p3"

DAILY = """
SELECT {key}, create_time::date AS ds,
       count(*)::bigint AS order_cnt,
       count(pay_id)::bigint AS paid_cnt,
       sum(buy_fee)::numeric(18, 2) AS gmv,
       coalesce(sum(buy_fee) FILTER (WHERE pay_id IS NOT NULL), 0)::numeric(18, 2) AS paid_gmv
FROM bench_p3.dwd_orders
WHERE {key} IS NOT NULL
GROUP BY {key}, create_time::date"""

VIEWS: dict[str, tuple[LiteralString, tuple[str, ...]]] = {  # view -> (query, unique key)
    "dwd_orders": (
        """
SELECT coalesce(o.order_id, p.order_id) AS order_id,
       o.user_id, o.shop_id, o.product_id, o.buy_fee, o.order_status, o.create_time,
       c.catalog_name,
       p.pay_id, p.pay_platform, p.pay_time
FROM public.orders AS o
FULL OUTER JOIN public.orders_pay AS p ON p.order_id = o.order_id
LEFT JOIN public.product_catalog AS c ON c.product_id = o.product_id""",
        ("order_id",),
    ),
    "dws_user_daily": (DAILY.format(key="user_id"), ("user_id", "ds")),
    "dws_shop_daily": (DAILY.format(key="shop_id"), ("shop_id", "ds")),
    "ads_user_metrics": (
        """
SELECT user_id,
       sum(order_cnt)::bigint AS total_orders,
       sum(gmv)::numeric(18, 2) AS total_gmv,
       sum(paid_gmv)::numeric(18, 2) AS paid_gmv,
       count(*)::bigint AS active_days,
       max(ds) AS last_order_date
FROM bench_p3.dws_user_daily
GROUP BY user_id""",
        ("user_id",),
    ),
    "ads_shop_metrics": (
        """
SELECT shop_id,
       sum(order_cnt)::bigint AS total_orders,
       sum(paid_cnt)::bigint AS paid_orders,
       sum(gmv)::numeric(18, 2) AS total_gmv,
       sum(paid_gmv)::numeric(18, 2) AS paid_gmv
FROM bench_p3.dws_shop_daily
GROUP BY shop_id""",
        ("shop_id",),
    ),
}
LAYER_OF = {"dwd_orders": "dwd", "dws_user_daily": "dws", "dws_shop_daily": "dws"}


class MaterializedViews(Contender):
    name = "p3"
    title = "P3 PostgreSQL materialized views refreshed in a loop"

    def __init__(self, store: StoreConnection, pause: float) -> None:
        self.store = store
        self.pause = pause
        self.rounds = 0
        self.error: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, say: Progress) -> None:
        with connect(self.store, database=SHOP_DATABASE) as conn, conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(SCHEMA)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(pg(SCHEMA)))
            for view, (query, key) in VIEWS.items():
                conn.execute(sql.SQL("CREATE MATERIALIZED VIEW {} AS {}").format(pg(SCHEMA, view), sql.SQL(query)))
                columns = sql.SQL(", ").join(pg(column) for column in key)
                conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} ({})").format(pg(SCHEMA, view), columns))
        self._thread = threading.Thread(target=self._refresh_loop, daemon=True, name="bench-p3-refresh")
        self._thread.start()
        say(f"p3: {len(VIEWS)} materialized views created; refreshing them in a loop")

    def await_ready(self, products: int, say: Progress, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.rounds < 1 and self.error is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.error:
            raise WarehouseError(f"p3: {self.error}")

    def layers(self) -> list[Layer]:
        return example_layers(SHOP_DATABASE, SCHEMA)

    def relations(self) -> dict[str, Relation]:
        return {f"{LAYER_OF.get(view, 'ads')}.{view}": Relation(SHOP_DATABASE, SCHEMA, view) for view in VIEWS}

    def problem(self) -> str | None:
        return self.error

    def stop(self, say: Progress) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(300)
        say(f"p3: stopped after {self.rounds} refresh rounds")
        with connect(self.store, database=SHOP_DATABASE) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(SCHEMA)))

    def _refresh_loop(self) -> None:
        try:
            with connect(self.store, database=SHOP_DATABASE) as conn:
                while not self._stopping.is_set():
                    for view in VIEWS:
                        conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(pg(SCHEMA, view)))
                    self.rounds += 1
                    self._stopping.wait(self.pause)
        except psycopg.Error as exc:
            self.error = f"refresh failed: {exc}"
