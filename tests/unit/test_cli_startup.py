"""The CLI answers `--help` without importing what only some commands need (dbt, pyarrow, sqlglot, the store
driver, the facade): a command's heavy modules are imported when it runs. Timings live in BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("dbt", "pyarrow", "sqlglot", "psycopg", "warehouse.context")


def test_help_imports_none_of_the_heavy_modules() -> None:
    probe = (
        "import sys; from click.testing import CliRunner; from warehouse.cli import cli; "
        "result = CliRunner().invoke(cli, ['--help']); assert result.exit_code == 0, result.output; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
