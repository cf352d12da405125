"""Model unit test fixture files: the format is validated and every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.errors import ConfigError
from warehouse.modeltests.fixtures import InputRef, load_unit_tests, parse_input

REPO = Path(__file__).resolve().parents[2]


def write(project: Path, name: str, text: str) -> None:
    folder = project / "unit_tests"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def error_of(project: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_unit_tests(project)
    return str(caught.value)


def test_the_example_fixtures_load() -> None:
    tests = load_unit_tests(REPO)
    assert {test.model for test in tests} >= {"dwd_orders", "dws_shop_minutely", "dws_shop_daily"}
    late = next(test for test in tests if test.name == "watermark_step_closes_the_minute")
    assert late.path == "unit_tests/dws_shop_minutely.yml"
    assert {"watermark": "2024-01-01 10:01:00"} in late.spec.given[0].rows
    assert late.spec.expect.changelog and late.spec.expect.rows is None


def test_a_project_without_unit_tests_has_none(tmp_path: Path) -> None:
    assert load_unit_tests(tmp_path) == []
    write(tmp_path, "empty.yml", "")
    assert load_unit_tests(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ref('ods_orders')", InputRef("ref", "ods_orders")),
        ('lookup("ods_product_catalog")', InputRef("lookup", "ods_product_catalog")),
        ("source('shop', 'orders')", InputRef("source", "orders", "shop")),
    ],
)
def test_inputs_are_ref_lookup_or_source(text: str, expected: InputRef) -> None:
    assert parse_input(text) == expected
    assert str(parse_input(text)) == str(expected)


BASE = """
unit_tests:
  - name: t
    model: m
    given:
      - input: {input}
        rows: {rows}
    expect: {expect}
"""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input": "ods_orders"}, "unit_tests[0].given[0].input: expected ref('model'), lookup('model') or source("),
        ({"rows": "[{watermark: '2024-01-01', a: 1}]"}, "a `watermark:` step stands alone"),
        ({"expect": "{rows: [], changelog: []}"}, "unit_tests[0].expect: give exactly one of `rows`"),
        ({"expect": "{row: []}"}, "unit_tests[0].expect.row: Extra inputs are not permitted"),
    ],
)
def test_format_errors_name_the_file_and_key(tmp_path: Path, fields: dict[str, str], message: str) -> None:
    values = {"input": "ref('x')", "rows": "[]", "expect": "{rows: []}", **fields}
    write(tmp_path, "bad.yml", BASE.format(**values))
    error = error_of(tmp_path)
    assert error.startswith("unit_tests/bad.yml: ") and message in error


def test_a_yaml_error_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.yml", "unit_tests:\n  - name: [unclosed\n")
    assert error_of(tmp_path).startswith("unit_tests/broken.yml:3: not valid YAML")


def test_names_are_unique_across_files(tmp_path: Path) -> None:
    one = BASE.format(input="ref('x')", rows="[]", expect="{rows: []}")
    write(tmp_path, "a.yml", one)
    write(tmp_path, "b.yml", one)
    assert "unit_tests/b.yml: t: the name is also used in unit_tests/a.yml" in error_of(tmp_path)
