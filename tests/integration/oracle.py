"""The oracle for the integration tests; the queries live in `warehouse.bench.oracle` (the benchmark uses them too)."""

from __future__ import annotations

import time

from warehouse.bench.correctness import Relation
from warehouse.bench.correctness import differences as table_differences
from warehouse.bench.oracle import ORACLE, OracleTable, actual_rows, diff, oracle_rows
from warehouse.context import Context

__all__ = ["ORACLE", "OracleTable", "actual_rows", "assert_drains_to_oracle", "diff", "differences", "oracle_rows"]


def differences(context: Context, skip: frozenset[str] | set[str] = frozenset(), source_database: str = "shop") -> str:
    """Every layer against the oracle (but the tables in `skip`), the oracle run over the OLTP tables in
    `source_database`; the empty string when all are equal."""
    database = context.store.database
    relations = {table: Relation(database, *table.split(".")) for table in ORACLE if table not in skip}
    found = table_differences(context.store, relations, source_database=source_database)
    return "\n".join(f"{table}: {text}" for table, text in found.items() if text)


def assert_drains_to_oracle(
    context: Context, timeout: float = 240, skip: frozenset[str] | set[str] = frozenset()
) -> None:
    """Wait until the pipeline has drained into a state equal to the oracle, or fail with the differences."""
    deadline = time.monotonic() + timeout
    problems = differences(context, skip)
    while problems and time.monotonic() < deadline:
        time.sleep(2)
        problems = differences(context, skip)
    assert not problems, f"layers differ from the oracle after {timeout:.0f}s:\n{problems}"
