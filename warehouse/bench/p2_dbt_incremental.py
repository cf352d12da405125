"""P2: the scheduled micro-batch way. dbt-postgres incremental models over the OLTP tables, run back to back.

The generated project (database `shop`, schema `bench_p2`) restates the oracle's business logic:
- `dwd_orders` picks the orders and payments changed since its last run by their transaction id (`xmin` at or
  above the previous run's snapshot xmin, exact where `updated_at` columns are not), recomputes those rows, and a
  post-hook settles hard deletes by anti-joining the OLTP tables, noting the groups they counted in;
- the DWS and ADS models recompute only the groups touched since their own last run (changed DWD rows and noted
  deletes), drop groups that became empty, and merge with `delete+insert`.
dbt runs in a child process (so its CPU time is charged to P2), parsing once and then invoking `run` in a loop.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from string import Template
from typing import Any

import yaml
from psycopg import sql

from warehouse.bench.contender import Contender, Progress
from warehouse.bench.correctness import Relation
from warehouse.bench.freshness import Layer, example_layers
from warehouse.config import StoreConnection
from warehouse.demo.schema import SHOP_DATABASE
from warehouse.errors import WarehouseError
from warehouse.identifiers import pg
from warehouse.store import connect

SCHEMA = "bench_p2"
PASSWORD_VARIABLE = "WAREHOUSE_BENCH_STORE_PASSWORD"
TABLES = ("dwd_orders", "dws_user_daily", "dws_shop_daily", "ads_user_metrics", "ads_shop_metrics")
GONE = "dwd_orders_gone"

DBT_PROJECT = {
    "name": "bench_p2",
    "version": "1.0.0",
    "config-version": 2,
    "profile": "bench_p2",
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "on-run-start": [
        "CREATE SCHEMA IF NOT EXISTS {{ target.schema }}",
        f"CREATE TABLE IF NOT EXISTS {{{{ target.schema }}}}.{GONE} "
        "(user_id bigint, shop_id bigint, ds date, gone_at timestamptz NOT NULL)",
    ],
    "models": {"bench_p2": {"+materialized": "incremental", "+incremental_strategy": "delete+insert"}},
    "flags": {"send_anonymous_usage_stats": False, "partial_parse": True},
}

WATERMARK = "(SELECT coalesce(max(_loaded_at), '-infinity') FROM {{ this }})"

SETTLE_DELETES = """\
{#- Hard deletes leave no row to pick up: find them by anti-joining the OLTP tables. -#}
{% macro settle_deletes() %}
WITH gone AS (
    SELECT d.order_id, d.user_id, d.shop_id, d.create_time::date AS ds FROM {{ this }} AS d
    WHERE d.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.orders AS o WHERE o.order_id = d.order_id)
), noted AS (
    INSERT INTO {{ this.schema }}.${gone} SELECT user_id, shop_id, ds, now() FROM gone
)
UPDATE {{ this }} AS d
SET user_id = NULL, shop_id = NULL, product_id = NULL, buy_fee = NULL, order_status = NULL, create_time = NULL,
    catalog_name = NULL, _loaded_at = now()
FROM gone WHERE d.order_id = gone.order_id;

WITH gone AS (
    SELECT d.order_id, d.user_id, d.shop_id, d.create_time::date AS ds FROM {{ this }} AS d
    WHERE d.pay_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.orders_pay AS p WHERE p.pay_id = d.pay_id)
), noted AS (
    INSERT INTO {{ this.schema }}.${gone} SELECT user_id, shop_id, ds, now() FROM gone WHERE user_id IS NOT NULL
)
UPDATE {{ this }} AS d SET pay_id = NULL, pay_platform = NULL, pay_time = NULL, _loaded_at = now()
FROM gone WHERE d.order_id = gone.order_id;

DELETE FROM {{ this }} WHERE user_id IS NULL AND pay_id IS NULL
{% endmacro %}
"""

DWD_ORDERS = """\
{{ config(unique_key='order_id', indexes=[{'columns': ['order_id'], 'unique': True},
          {'columns': ['user_id']}, {'columns': ['shop_id']}], post_hook="{{ settle_deletes() }}") }}

WITH changed AS (
{% if is_incremental() %}
    SELECT order_id FROM public.orders
    WHERE xmin::text::bigint >= (SELECT coalesce(max(_xid_watermark), 0) FROM {{ this }})
    UNION
    SELECT order_id FROM public.orders_pay
    WHERE xmin::text::bigint >= (SELECT coalesce(max(_xid_watermark), 0) FROM {{ this }})
{% else %}
    SELECT order_id FROM public.orders UNION SELECT order_id FROM public.orders_pay
{% endif %}
)
SELECT c.order_id, o.user_id, o.shop_id, o.product_id, o.buy_fee, o.order_status, o.create_time,
       cat.catalog_name, p.pay_id, p.pay_platform, p.pay_time,
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS _xid_watermark,
       now() AS _loaded_at
FROM changed AS c
LEFT JOIN public.orders AS o ON o.order_id = c.order_id
LEFT JOIN public.orders_pay AS p ON p.order_id = c.order_id
LEFT JOIN public.product_catalog AS cat ON cat.product_id = o.product_id
WHERE o.order_id IS NOT NULL OR p.order_id IS NOT NULL
"""

DWS_DAILY = """\
{{ config(unique_key=['${key}', 'ds'], indexes=[{'columns': ['${key}', 'ds'], 'unique': True}],
          post_hook="DELETE FROM {{ this }} WHERE order_cnt = 0") }}

WITH touched AS (
{% if is_incremental() %}
    SELECT ${key}, create_time::date AS ds FROM {{ ref('dwd_orders') }}
    WHERE ${key} IS NOT NULL AND _loaded_at > ${watermark}
    UNION
    SELECT ${key}, ds FROM {{ this.schema }}.${gone} WHERE gone_at > ${watermark}
{% else %}
    SELECT DISTINCT ${key}, create_time::date AS ds FROM {{ ref('dwd_orders') }} WHERE ${key} IS NOT NULL
{% endif %}
)
SELECT t.${key}, t.ds,
       count(d.order_id)::bigint AS order_cnt,
       count(d.pay_id)::bigint AS paid_cnt,
       coalesce(sum(d.buy_fee), 0)::numeric(18, 2) AS gmv,
       coalesce(sum(d.buy_fee) FILTER (WHERE d.pay_id IS NOT NULL), 0)::numeric(18, 2) AS paid_gmv,
       now() AS _loaded_at
FROM touched AS t
LEFT JOIN {{ ref('dwd_orders') }} AS d ON d.${key} = t.${key} AND d.create_time::date = t.ds
GROUP BY t.${key}, t.ds
"""

ADS_METRICS = """\
-- depends_on: {{ ref('dwd_orders') }}
{{ config(unique_key='${key}', indexes=[{'columns': ['${key}'], 'unique': True}],
          post_hook="DELETE FROM {{ this }} WHERE total_orders = 0") }}

WITH touched AS (
{% if is_incremental() %}
    SELECT ${key} FROM {{ ref('dwd_orders') }} WHERE ${key} IS NOT NULL AND _loaded_at > ${watermark}
    UNION
    SELECT ${key} FROM {{ this.schema }}.${gone} WHERE gone_at > ${watermark}
{% else %}
    SELECT DISTINCT ${key} FROM {{ ref('${daily}') }}
{% endif %}
)
SELECT t.${key},
       ${measures},
       now() AS _loaded_at
FROM touched AS t
LEFT JOIN {{ ref('${daily}') }} AS s ON s.${key} = t.${key}
GROUP BY t.${key}
"""

USER_MEASURES = """coalesce(sum(s.order_cnt), 0)::bigint AS total_orders,
       coalesce(sum(s.gmv), 0)::numeric(18, 2) AS total_gmv,
       coalesce(sum(s.paid_gmv), 0)::numeric(18, 2) AS paid_gmv,
       count(s.ds)::bigint AS active_days,
       max(s.ds) AS last_order_date"""

SHOP_MEASURES = """coalesce(sum(s.order_cnt), 0)::bigint AS total_orders,
       coalesce(sum(s.paid_cnt), 0)::bigint AS paid_orders,
       coalesce(sum(s.gmv), 0)::numeric(18, 2) AS total_gmv,
       coalesce(sum(s.paid_gmv), 0)::numeric(18, 2) AS paid_gmv"""


def model_files() -> dict[str, str]:
    """The project's models and macros, relative path -> text."""
    common = {"watermark": WATERMARK, "gone": GONE}
    user = {**common, "key": "user_id", "daily": "dws_user_daily", "measures": USER_MEASURES}
    shop = {**common, "key": "shop_id", "daily": "dws_shop_daily", "measures": SHOP_MEASURES}
    return {
        "macros/settle_deletes.sql": Template(SETTLE_DELETES).substitute(common),
        "models/dwd_orders.sql": DWD_ORDERS,
        "models/dws_user_daily.sql": Template(DWS_DAILY).substitute(user),
        "models/dws_shop_daily.sql": Template(DWS_DAILY).substitute(shop),
        "models/ads_user_metrics.sql": Template(ADS_METRICS).substitute(user),
        "models/ads_shop_metrics.sql": Template(ADS_METRICS).substitute(shop),
    }


def write_dbt_project(folder: Path, store: StoreConnection) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(DBT_PROJECT, sort_keys=False))
    (folder / "profiles.yml").write_text(yaml.safe_dump(_profile(store), sort_keys=False))
    for relative, text in model_files().items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


def _profile(store: StoreConnection) -> dict[str, Any]:
    output = {
        "type": "postgres",
        "host": store.host,
        "port": store.port,
        "user": store.user,
        "password": "{{ env_var('" + PASSWORD_VARIABLE + "', '') }}",  # the file never holds the password
        "dbname": SHOP_DATABASE,
        "schema": SCHEMA,
        "threads": 2,
    }
    return {"bench_p2": {"target": "bench", "outputs": {"bench": output}}}


class DbtIncremental(Contender):
    name = "p2"
    title = "P2 dbt-postgres incremental models run in a loop"

    def __init__(self, store: StoreConnection, folder: Path, pause: float) -> None:
        self.store = store
        self.folder = folder
        self.pause = pause
        context = multiprocessing.get_context("spawn")
        self.stopping = context.Event()
        self.rounds = context.Value("q", 0)
        self.errors = context.Queue()
        self.process: Any = None
        self.error: str | None = None

    def start(self, say: Progress) -> None:
        _drop_schema(self.store)
        write_dbt_project(self.folder, self.store)
        context = multiprocessing.get_context("spawn")
        args = (str(self.folder), self.pause, self.stopping, self.rounds, self.errors)
        os.environ[PASSWORD_VARIABLE] = self.store.password.get_secret_value()  # the dbt child process reads it
        self.process = context.Process(target=dbt_loop, args=args, daemon=True)
        self.process.start()
        say(f"p2: dbt loop started (pid {self.process.pid}) on {self.folder}")

    def await_ready(self, products: int, say: Progress, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.rounds.value < 1 and time.monotonic() < deadline:
            if self.problem():
                raise WarehouseError(f"p2: {self.problem()}", hint=f"see {self.folder}/logs/dbt.log")
            time.sleep(0.5)
        say(f"p2: first dbt run done ({self.rounds.value} round(s))")

    def layers(self) -> list[Layer]:
        return example_layers(SHOP_DATABASE, SCHEMA)

    def relations(self) -> dict[str, Relation]:
        layers = {"dwd_orders": "dwd", "dws_user_daily": "dws", "dws_shop_daily": "dws"}
        return {f"{layers.get(t, 'ads')}.{t}": Relation(SHOP_DATABASE, SCHEMA, t) for t in TABLES}

    def helper_pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None and self.process.is_alive() else []

    def problem(self) -> str | None:
        if self.error is None and not self.errors.empty():
            self.error = str(self.errors.get())
        if self.error is None and self.process is not None and not self.process.is_alive():
            self.error = f"the dbt loop exited with {self.process.exitcode}"
        return self.error

    def stop(self, say: Progress) -> None:
        self.stopping.set()
        if self.process is not None:
            self.process.join(120)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(10)
        say(f"p2: dbt loop stopped after {self.rounds.value} rounds")
        _drop_schema(self.store)


def dbt_loop(folder: str, pause: float, stopping: Any, rounds: Any, errors: Any) -> None:
    """Parse once, then `dbt run` until told to stop (runs in a child process)."""
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    flags = ["--project-dir", folder, "--profiles-dir", folder, "--quiet", "--log-path", f"{folder}/logs"]
    parsed = dbtRunner().invoke(["parse", *flags])
    if not parsed.success or not isinstance(parsed.result, Manifest):
        errors.put(f"dbt parse failed: {parsed.exception}")
        return
    runner = dbtRunner(manifest=parsed.result)
    while not stopping.is_set():
        result = runner.invoke(["run", *flags])
        if not result.success:
            errors.put(f"dbt run failed: {result.exception or _first_error(result.result)}")
            return
        rounds.value += 1
        stopping.wait(pause)


def _first_error(result: Any) -> str:
    for node in getattr(result, "results", []) or []:
        if getattr(node, "status", "") == "error":
            return f"{node.node.name}: {node.message}"
    return "see logs/dbt.log"


def _drop_schema(store: StoreConnection) -> None:
    with connect(store, database=SHOP_DATABASE) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(SCHEMA)))
