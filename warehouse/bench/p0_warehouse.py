"""P0: this framework. The example warehouse's continuous jobs (CDC into ODS, the partial-update DWD with its
product lookup, the DWS and ADS aggregates), deployed with `warehouse run --full-refresh`."""

from __future__ import annotations

import time

from psycopg import sql

from warehouse.bench.contender import Contender, Progress
from warehouse.bench.correctness import Relation
from warehouse.bench.freshness import Layer, order_grained, shop_aggregate
from warehouse.bench.oracle import ORACLE
from warehouse.context import Context
from warehouse.errors import FlinkError, WarehouseError
from warehouse.identifiers import pg
from warehouse.lifecycle.engine import TERMINAL_STATES
from warehouse.store import connect, drop_slots

MODELS = ("ods_orders", "dwd_orders", "dws_shop_daily", "ads_shop_metrics")


class WarehousePipeline(Contender):
    """The project's models as Flink jobs; P1 is the same with another DWD model."""

    def __init__(self, context: Context, name: str, title: str) -> None:
        self.context = context
        self.name = name
        self.title = title
        self.jobs: dict[str, str] = {}
        _require_example_models(context)

    def start(self, say: Progress) -> None:
        self.context.progress = say
        self.context.refresh()
        self.context.run(full_refresh=True)
        records = self.context.lifecycle.registry.all().values()
        self.jobs = {record.job: record.job_id for record in records if record.job_id}  # one per job group

    def await_ready(self, products: int, say: Progress, timeout: float = 180) -> None:
        table = self.context.table_of("ods_product_catalog")
        deadline = time.monotonic() + timeout
        with connect(self.context.store) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(pg(table.schema, table.name))).fetchone()
                if row and row[0] >= products:
                    say(f"{self.name}: the ODS layer has all {products:,} products")
                    return
                time.sleep(0.5)
        raise WarehouseError(f"{self.name}: the ODS layer did not receive the products", hint="`warehouse status`")

    def layers(self) -> list[Layer]:
        ods, dwd, dws, ads = (self.context.table_of(model) for model in MODELS)
        return [
            order_grained("ods", ods.database, ods.schema, ods.name),
            order_grained("dwd", dwd.database, dwd.schema, dwd.name),
            shop_aggregate("dws", dws.database, dws.schema, dws.name, "order_cnt"),
            shop_aggregate("ads", ads.database, ads.schema, ads.name, "total_orders"),
        ]

    def relations(self) -> dict[str, Relation]:
        relations = {}
        for layer_table in ORACLE:
            table = self.context.table_of(layer_table.split(".")[1])
            relations[layer_table] = Relation(table.database, table.schema, table.name)
        return relations

    def flink_jobs(self) -> dict[str, str]:
        return dict(self.jobs)

    def problem(self) -> str | None:
        for job, job_id in self.jobs.items():
            try:
                state = self.context.jobmanager.state(job_id)
            except FlinkError as exc:
                return f"job {job}: {exc.message}"
            if state != "RUNNING":
                return f"job {job} is {state}: {self.context.jobmanager.exceptions(job_id)[:300]}"
        return None

    def stop(self, say: Progress) -> None:
        """Cancel every job first, then drop all their slots (one job at a time would wait for each)."""
        records = [r for r in self.context.lifecycle.registry.all().values() if r.job in self.jobs and r.job_id]
        jobmanager = self.context.jobmanager
        running = [r.job_id for r in records if r.job_id and jobmanager.state(r.job_id) not in TERMINAL_STATES]
        for job_id in running:
            jobmanager.cancel(job_id)
        for job_id in running:
            jobmanager.wait_for_state(job_id, TERMINAL_STATES, timeout=60)
        drop_slots(self.context.store, [slot["name"] for r in records for slot in r.slots])
        say(f"{self.name}: cancelled {len(running)} jobs and dropped their replication slots")
        self.jobs = {}


def p0_partial_update(context: Context) -> WarehousePipeline:
    return WarehousePipeline(context, "p0", "P0 warehouse (partial-update DWD, lookup, DWS/ADS aggregates)")


def _require_example_models(context: Context) -> None:
    names = {model.name for model in context.project.models.values()}
    missing = sorted({table.split(".")[1] for table in ORACLE} - names)
    if missing:
        raise WarehouseError(
            f"the project at {context.project_dir} lacks the example models {', '.join(missing)}",
            hint="run the benchmark in the example project (the repository root, or a copy of its models/)",
        )
