"""The warehouse's own model settings, written in `config(...)` or schema yml next to dbt's.

dbt accepts any extra config key, so a typo such as `primary_kye` would pass silently; these
models validate exactly the keys dbt does not know, and name the offending one.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warehouse.errors import ConfigError

MATERIALIZATIONS = ("continuous", "partial_update")
RETENTION = r"^\d+\s*(h|d)$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Binlog(StrictModel):
    """The table's change log. On PostgreSQL: publication membership + REPLICA IDENTITY FULL."""

    enabled: bool = True
    retention: str = Field("7d", pattern=RETENTION)


class Watermark(StrictModel):
    """Event time of the table for jobs that read its binlog: `WATERMARK FOR column AS column - delay`.

    `late_rows`: what a job windowing over the table does with rows behind the watermark: `keep` them in
    `_warehouse.late_rows` (counted by `status`), or `drop` them in the window (counted by Flink)."""

    column: str
    delay: str = "5 SECOND"
    late_rows: Literal["keep", "drop"] = "keep"

    @field_validator("delay")
    @classmethod
    def _interval(cls, value: str) -> str:
        if not re.fullmatch(r"\d+\s+(MILLISECOND|SECOND|MINUTE|HOUR|DAY)S?", value.strip(), re.IGNORECASE):
            raise ValueError("expected e.g. '5 SECOND', '1 MINUTE'")
        return value.strip().upper()


class TableSettings(StrictModel):
    """What the catalog needs to know about a model's table."""

    primary_key: list[str] = Field(min_length=1)
    orientation: Literal["row", "column", "row,column"] = "row"
    binlog: Binlog = Binlog()
    watermark: Watermark | None = None
    parallelism: int | None = Field(None, ge=1)
    upsert_materialize: Literal["auto", "none", "force"] = "auto"
    job_group: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]*$")  # run with the models naming it (jobgroups.py)


def table_settings(extra: dict[str, Any], where: str) -> TableSettings:
    """Validate the warehouse keys of one model's config (`extra` = keys dbt does not define)."""
    values = dict(extra)
    if isinstance(values.get("binlog"), bool):
        values["binlog"] = {"enabled": values["binlog"]}
    if isinstance(values.get("orientation"), str):
        values["orientation"] = values["orientation"].replace(" ", "")
    try:
        return TableSettings.model_validate(values)
    except ValidationError as exc:
        error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        key = ".".join(str(part) for part in error["loc"]) or "config"
        raise ConfigError(
            f"config key '{key}': {error['msg']}",
            where=where,
            hint="see README 'Model config' for the warehouse keys "
            "(primary_key, orientation, binlog, watermark, parallelism, upsert_materialize, job_group)",
        ) from None
