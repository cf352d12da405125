"""A dbt adapter plugin for the warehouse store: dbt-postgres plus the framework's macros.

dbt only puts an *adapter's* macros in the unqualified namespace of every project (macros of an
ordinary package must be called as `package.macro`), so `ref`-aware helpers such as `lookup()`
and `stream()` ship as this adapter's include path. dbt finds adapters as `dbt.adapters.<type>`;
`warehouse.project` registers this module under that name before it invokes dbt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.base.plugin import AdapterPlugin
from dbt.adapters.postgres.connections import PostgresConnectionManager, PostgresCredentials
from dbt.adapters.postgres.impl import PostgresAdapter

ADAPTER_TYPE = "warehouse"
INCLUDE_PATH = str(Path(__file__).parent / "include" / "warehouse")


class WarehouseCredentials(PostgresCredentials):
    @property
    def type(self) -> str:
        return ADAPTER_TYPE


class WarehouseConnectionManager(PostgresConnectionManager):
    TYPE = ADAPTER_TYPE


class WarehouseAdapter(PostgresAdapter):
    ConnectionManager = WarehouseConnectionManager

    @classmethod
    def type(cls) -> str:
        return ADAPTER_TYPE


Plugin: Any = AdapterPlugin(
    adapter=WarehouseAdapter,  # type: ignore[arg-type]
    credentials=WarehouseCredentials,
    include_path=INCLUDE_PATH,
    dependencies=["postgres"],
)
