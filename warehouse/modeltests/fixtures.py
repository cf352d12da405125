"""The fixture files of model unit tests: `<project>/unit_tests/*.yml`, validated, every error naming file and key.

```yaml
unit_tests:
  - name: late_order_is_dropped                # unique across files
    model: dws_shop_minutely
    description: optional text
    given:                                     # inputs the test does not mention are empty
      - input: ref('ods_orders_timed')         # or source('shop', 'orders'), lookup('ods_product_catalog')
        rows:                                  # in arrival order
          - {order_id: 1, shop_id: 7, buy_fee: 10.00, create_time: '2024-01-01 10:00:10'}
          - {op: update, order_id: 1, buy_fee: 12.00}      # op: insert (default) | update | delete
          - watermark: '2024-01-01 10:01:00'               # this input's watermark moves to 10:01
    expect:
      rows: [...]          # the model's final table, matched by primary key
      # or changelog: [{op: '+I', ...}, {op: '-U', ...}, {op: '+U', ...}, {op: '-D', ...}]
```

- Rows of one input arrive in the order written, as a changelog: an update names the key and the changed
  columns (the rest keep their values), a delete names the key. Different inputs are different binlogs:
  Flink interleaves them freely, so an expectation must not depend on the order across inputs.
- Event time: an input whose table declares a `watermark` gets the job's WATERMARK; every row that moves it
  emits it at once, so a row past `max event time - delay` is late exactly when it is written after that
  row. `- watermark: <time>` moves it explicitly. At the end of the input the watermark goes to the end of
  time: every open window fires.
- A `lookup()` input is the dimension's content for the whole test (looked up by key, as the job does).
- Only the columns the expectation names are compared (in any of its rows: a named column left out of one
  row is expected NULL there). A changelog is compared key by key, in order; `stream:` names the stream of
  a `partial_update` model when it matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warehouse.errors import ConfigError

FOLDER = "unit_tests"
OPS = ("insert", "update", "delete")
CHANGELOG_OPS = ("+I", "-U", "+U", "-D")
WATERMARK_KEY = "watermark"
OP_KEY = "op"
STREAM_KEY = "stream"
HINT = "see README 'Model unit tests' for the fixture format"

_QUOTED = r"""\s*(['"])(\w+)\{n}\s*"""
_SINGLE = re.compile(r"^\s*(ref|lookup)\(" + _QUOTED.format(n=2) + r"\)\s*$")
_SOURCE = re.compile(r"^\s*source\(" + _QUOTED.format(n=1) + "," + _QUOTED.format(n=3) + r"\)\s*$")


@dataclass(frozen=True)
class InputRef:
    """What a `given` entry feeds: `ref('model')`, `lookup('model')` or `source('src', 'table')`."""

    kind: Literal["ref", "lookup", "source"]
    name: str
    source: str | None = None

    def __str__(self) -> str:
        if self.kind == "source":
            return f"source('{self.source}', '{self.name}')"
        return f"{self.kind}('{self.name}')"


def parse_input(text: str) -> InputRef:
    single = _SINGLE.match(text)
    if single:
        kind: Literal["ref", "lookup"] = "ref" if single.group(1) == "ref" else "lookup"
        return InputRef(kind, single.group(3))
    source = _SOURCE.match(text)
    if source:
        return InputRef("source", source.group(4), source.group(2))
    raise ValueError(f"expected ref('model'), lookup('model') or source('src', 'table'), got {text!r}")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GivenInput(StrictModel):
    input: str
    rows: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("input")
    @classmethod
    def _reference(cls, value: str) -> str:
        parse_input(value)
        return value

    @field_validator("rows")
    @classmethod
    def _watermark_alone(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, row in enumerate(rows):
            if WATERMARK_KEY in row and len(row) > 1:
                raise ValueError(f"row {index}: a `watermark:` step stands alone, without columns")
        return rows

    @property
    def reference(self) -> InputRef:
        return parse_input(self.input)


class Expect(StrictModel):
    rows: list[dict[str, Any]] | None = None
    changelog: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Expect:
        if (self.rows is None) == (self.changelog is None):
            raise ValueError("give exactly one of `rows` (the final table) or `changelog`")
        return self


class UnitTestSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    model: str
    description: str = ""
    given: list[GivenInput] = Field(default_factory=list)
    expect: Expect


class FixtureFile(StrictModel):
    unit_tests: list[UnitTestSpec]


@dataclass(frozen=True)
class UnitTest:
    """One unit test and where it was written (`path` relative to the project)."""

    spec: UnitTestSpec
    path: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def model(self) -> str:
        return self.spec.model

    def error(self, key: str, message: str, hint: str = HINT) -> ConfigError:
        """An error at `key` (e.g. `given[1].rows[2].buy_fee`) of this test."""
        return ConfigError(
            f"{self.name}.{key}: {message}" if key else f"{self.name}: {message}", where=self.path, hint=hint
        )


def load_unit_tests(project_dir: Path) -> list[UnitTest]:
    """Every unit test of the project, in file order; names are unique across files."""
    folder = project_dir / FOLDER
    files = sorted([*folder.rglob("*.yml"), *folder.rglob("*.yaml")]) if folder.is_dir() else []
    tests = [test for path in files for test in _load_file(path, path.relative_to(project_dir).as_posix())]
    _check_unique(tests)
    return tests


def _load_file(path: Path, where: str) -> list[UnitTest]:
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where + line) from None
    if content is None:
        return []
    try:
        parsed = FixtureFile.model_validate(content)
    except ValidationError as exc:
        raise _first_error(exc, where) from None
    return [UnitTest(spec, where) for spec in parsed.unit_tests]


def _first_error(exc: ValidationError, where: str) -> ConfigError:
    error = exc.errors()[0]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    message = str(error["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{key or 'file'}: {message}", where=where, hint=HINT)


def _check_unique(tests: list[UnitTest]) -> None:
    seen: dict[str, UnitTest] = {}
    for test in tests:
        if test.name in seen:
            raise test.error(
                "", f"the name is also used in {seen[test.name].path}", hint="give every unit test its own name"
            )
        seen[test.name] = test
