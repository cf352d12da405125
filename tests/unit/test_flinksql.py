from __future__ import annotations

import pytest
from sqlglot import exp

from warehouse.errors import WarehouseError
from warehouse.flinksql import (
    FlinkSQL,
    FlinkSqlSyntaxError,
    MetadataColumnConstraint,
    OutputColumnError,
    StatementSet,
    TableArgument,
    TableRef,
    UnnamedColumnError,
    UnresolvedStarError,
    backtick_identifiers,
    output_columns,
    parse,
    parse_one,
    rename_descriptors,
    split_statements,
    statement_set_inserts,
    table_references,
)

TEMPORAL_JOIN = (
    "SELECT o.a, c.name FROM warehouse.ods.ods_orders AS o "
    "JOIN warehouse.ods.ods_product_catalog__lookup FOR SYSTEM_TIME AS OF o.proc_time AS c "
    "ON o.product_id = c.product_id"
)
TUMBLE = (
    "SELECT window_start, window_end, shop_id, SUM(x) AS s "
    "FROM TABLE(TUMBLE(TABLE warehouse.dwd.dwd_orders, DESCRIPTOR(pay_time), INTERVAL '1' MINUTE)) "
    "GROUP BY window_start, window_end, shop_id"
)
HOP = (
    "SELECT window_start, window_end, SUM(x) AS s "
    "FROM TABLE(HOP(TABLE dwd_orders, DESCRIPTOR(pay_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) "
    "GROUP BY window_start, window_end"
)
CUMULATE = (
    "SELECT window_start, window_end, SUM(x) AS s "
    "FROM TABLE(CUMULATE(TABLE dwd_orders, DESCRIPTOR(pay_time), INTERVAL '1' MINUTE, INTERVAL '1' DAY)) "
    "GROUP BY window_start, window_end"
)
CREATE_TABLE = (
    "CREATE TEMPORARY TABLE t (a INT, b STRING, ts TIMESTAMP(3), proc_time AS PROCTIME(), "
    "WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (a) NOT ENFORCED) WITH ('connector' = 'x')"
)
STATEMENT_SET = "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END"


def window_tvf(sql: str) -> exp.Anonymous:
    tvf = parse_one(sql).find(exp.TableFromRows)
    assert tvf is not None
    assert isinstance(tvf.this, exp.Anonymous)
    return tvf.this


# ------------------------------------------------------------------------------------------------ parsing


def test_temporal_join_marks_the_lookup_table() -> None:
    select = parse_one(TEMPORAL_JOIN)
    assert isinstance(select, exp.Select)
    [join] = select.args["joins"]
    lookup = join.this
    assert isinstance(lookup, exp.Table)
    assert (lookup.catalog, lookup.db, lookup.name, lookup.alias) == (
        "warehouse",
        "ods",
        "ods_product_catalog__lookup",
        "c",
    )
    version = lookup.args["version"]
    assert isinstance(version, exp.Version)
    assert version.expression.sql() == "o.proc_time"
    assert select.args["from_"].this.args.get("version") is None


@pytest.mark.parametrize(
    ("sql", "function", "intervals"),
    [
        (TUMBLE, "TUMBLE", ["1 MINUTE"]),
        (HOP, "HOP", ["1 MINUTE", "5 MINUTE"]),
        (CUMULATE, "CUMULATE", ["1 MINUTE", "1 DAY"]),
    ],
)
def test_window_tvf_arguments(sql: str, function: str, intervals: list[str]) -> None:
    tvf = window_tvf(sql)
    assert tvf.name == function
    table_argument, descriptor, *sizes = tvf.expressions
    assert isinstance(table_argument, TableArgument)
    assert table_argument.this.name in ("dwd_orders",)
    assert isinstance(descriptor, exp.Anonymous) and descriptor.name == "DESCRIPTOR"
    assert [column.name for column in descriptor.expressions] == ["pay_time"]
    assert [f"{size.this.name} {size.unit.name}" for size in sizes] == intervals


def test_window_tvf_with_named_arguments() -> None:
    tvf = window_tvf(
        "SELECT * FROM TABLE(TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '1' MINUTE))"
    )
    kwargs = {kwarg.this.name: kwarg.expression for kwarg in tvf.expressions}
    assert list(kwargs) == ["DATA", "TIMECOL", "SIZE"]
    assert isinstance(kwargs["DATA"], TableArgument)
    assert kwargs["DATA"].this.name == "t"


def test_session_window_partition_by() -> None:
    for partition in ("k", "(k)"):
        tvf = window_tvf(
            f"SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY {partition}, DESCRIPTOR(ts), INTERVAL '5' MINUTE))"
        )
        table_argument = tvf.expressions[0]
        assert [column.name for column in table_argument.args["partition_by"]] == ["k"]
        assert len(tvf.expressions) == 3


def test_create_table_with_computed_column_watermark_and_key() -> None:
    create = parse_one(CREATE_TABLE)
    assert isinstance(create, exp.Create)
    schema = create.this
    columns = {column.name: column for column in schema.expressions if isinstance(column, exp.ColumnDef)}
    assert list(columns) == ["a", "b", "ts", "proc_time"]
    assert columns["a"].args["kind"].sql(dialect=FlinkSQL) == "INT"
    assert columns["b"].args["kind"].sql(dialect=FlinkSQL) == "STRING"
    assert columns["ts"].args["kind"].sql(dialect=FlinkSQL) == "TIMESTAMP(3)"
    computed = columns["proc_time"].find(exp.ComputedColumnConstraint)
    assert computed is not None and computed.this.sql() == "PROCTIME()"
    watermark = schema.find(exp.WatermarkColumnConstraint)
    assert watermark is not None
    assert watermark.this.name == "ts"
    assert watermark.expression.sql(dialect=FlinkSQL) == "ts - INTERVAL '5' SECOND"
    primary_key = schema.find(exp.PrimaryKey)
    assert primary_key is not None and [key.name for key in primary_key.expressions] == ["a"]
    properties = {prop.name: prop.text("value") for prop in create.find_all(exp.Property) if type(prop) is exp.Property}
    assert properties == {"connector": "x"}
    assert create.args["properties"].find(exp.TemporaryProperty) is not None


def test_create_table_with_flink_types_and_metadata_columns() -> None:
    create = parse_one(
        "CREATE TABLE c.d.t (id BIGINT NOT NULL, r ROW<x INT, y STRING>, tags ARRAY<STRING>, "
        "ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL, payload BYTES) WITH ('connector' = 'kafka')"
    )
    kinds = {column.name: column.args["kind"].sql(dialect=FlinkSQL) for column in create.find_all(exp.ColumnDef)}
    assert kinds["r"] == "ROW<x INT, y STRING>"
    assert kinds["tags"] == "ARRAY<STRING>"
    assert kinds["ts"] == "TIMESTAMP_LTZ(3)"
    assert kinds["payload"] == "BYTES"
    metadata = create.find(MetadataColumnConstraint)
    assert metadata is not None and metadata.this.name == "timestamp" and metadata.args["virtual"]


def test_statement_set_holds_its_inserts() -> None:
    statement_set = parse_one(STATEMENT_SET)
    assert isinstance(statement_set, StatementSet)
    assert [insert.this.name for insert in statement_set.expressions] == ["a", "b"]
    assert all(isinstance(insert, exp.Insert) for insert in statement_set.expressions)


def test_statement_set_among_other_statements() -> None:
    statements = parse(
        "CREATE TEMPORARY VIEW v AS SELECT 1 AS x;\n"
        "EXECUTE STATEMENT SET BEGIN\n"
        "  INSERT INTO a SELECT CASE WHEN x > 0 THEN 'p' END AS k FROM v;\n"
        "  INSERT INTO b SELECT x FROM v;\n"
        "END;\n"
        "SELECT 2 AS y"
    )
    assert [type(statement) for statement in statements] == [exp.Create, StatementSet, exp.Select]
    assert len(statements[1].expressions) == 2


@pytest.mark.parametrize(
    ("sql", "description", "column"),
    [
        ("EXECUTE STATEMENT SET BEGIN SELECT 1; END", "only INSERT", 29),
        ("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; ", "END of the statement set", 52),
        ("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1 INSERT INTO b SELECT 2; END", "Expecting ; or END", 52),
        ("EXECUTE STATEMENT SET BEGIN END", "at least one INSERT", 29),
    ],
)
def test_malformed_statement_sets(sql: str, description: str, column: int) -> None:
    with pytest.raises(FlinkSqlSyntaxError) as raised:
        parse_one(sql)
    assert description in raised.value.description
    assert (raised.value.line, raised.value.column) == (1, column)


def test_expressions_and_functions() -> None:
    select = parse_one(
        "SELECT CAST(x AS DECIMAL(18, 2)) AS amount, COALESCE(a, 0) AS a0, "
        "CASE WHEN a > 1 THEN 'big' ELSE 'small' END AS size, CAST(create_time AS DATE) AS dt, "
        "DATE_FORMAT(ts, 'yyyy-MM-dd') AS day, ts + INTERVAL '1' DAY AS tomorrow, PROCTIME() AS pt, "
        "COUNT(*) FILTER (WHERE a > 1) AS big_ones, `order` FROM t"
    )
    assert isinstance(select, exp.Select)
    projections = {projection.alias_or_name: projection for projection in select.expressions}
    amount = projections["amount"].this
    assert isinstance(amount, exp.Cast) and amount.to.sql(dialect=FlinkSQL) == "DECIMAL(18, 2)"
    assert isinstance(projections["a0"].this, exp.Coalesce)
    assert isinstance(projections["size"].this, exp.Case)
    dt = projections["dt"].this
    assert isinstance(dt, exp.Cast) and dt.to.is_type("date")
    assert projections["day"].this.sql(dialect=FlinkSQL) == "DATE_FORMAT(ts, 'yyyy-MM-dd')"
    interval = projections["tomorrow"].find(exp.Interval)
    assert interval is not None and (interval.this.name, interval.unit.name) == ("1", "DAY")
    assert projections["pt"].this.sql() == "PROCTIME()"
    big_ones = projections["big_ones"].this
    assert isinstance(big_ones, exp.Filter) and isinstance(big_ones.this, exp.Count)
    order = projections["order"]
    assert isinstance(order, exp.Column) and order.this.quoted


def test_double_quoted_names_are_identifiers_not_strings() -> None:
    select = parse_one('SELECT "a" FROM "db"."schema"."table"')
    table = select.find(exp.Table)
    assert table is not None
    assert (table.catalog, table.db, table.name) == ("db", "schema", "table")
    assert isinstance(select.expressions[0], exp.Column)
    assert select.find(exp.Literal) is None


def test_string_literals_escape_quotes_by_doubling() -> None:
    literal = parse_one("SELECT 'it''s a \\ backslash' AS s").find(exp.Literal)
    assert literal is not None and literal.name == "it's a \\ backslash"


def test_generation_uses_backticks_and_flink_syntax() -> None:
    assert parse_one('SELECT "a", b FROM "db"."s"."t"').sql(dialect=FlinkSQL) == "SELECT `a`, b FROM `db`.`s`.`t`"
    assert parse_one("SELECT a FROM t").sql(dialect=FlinkSQL, identify=True) == "SELECT `a` FROM `t`"
    for sql in (TEMPORAL_JOIN, TUMBLE, HOP, CUMULATE):
        assert parse_one(sql).sql(dialect=FlinkSQL) == sql
    assert parse_one("SELECT CURRENT_TIMESTAMP AS now, TIMESTAMPDIFF(SECOND, a, b) AS d FROM t").sql(
        dialect=FlinkSQL
    ) == ("SELECT CURRENT_TIMESTAMP AS now, TIMESTAMPDIFF(SECOND, a, b) AS d FROM t")


def test_statement_set_generation_reparses() -> None:
    generated = parse_one(STATEMENT_SET).sql(dialect=FlinkSQL)
    assert generated.startswith("EXECUTE STATEMENT SET\nBEGIN\n") and generated.endswith("END")
    reparsed = parse_one(generated)
    assert isinstance(reparsed, StatementSet) and len(reparsed.expressions) == 2


def test_parse_returns_every_statement_and_skips_comment_only_pieces() -> None:
    statements = parse("-- lead\nSELECT 1 AS x;\n/* nothing */ ;\nSET 'a.b' = 'c'; SELECT 2 AS y; -- tail")
    assert [type(statement) for statement in statements] == [exp.Select, exp.Set, exp.Select]


# ------------------------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("sql", "line", "column", "description"),
    [
        ("SELECT (a FROM t", 1, 11, "Expecting )"),
        ("SELECT a,\n  b\nFROM t WHERE (x = 1 AND yyy", 3, 28, "Expecting )"),  # just past the end
        ("SELECT a,\n  b\nFROM t WHERE (x = 1 AND yyy GROUP BY a", 3, 29, "Expecting )"),
        ("SELECT a\nFROM", 2, 5, "end of input"),
        ("SELECT a b c FROM t", 1, 12, "Unexpected token"),
        ("SELECT 1;\nSELECT 'abc", 2, 8, "unterminated string"),
        ('SELECT "abc', 1, 8, "unterminated quoted identifier"),
        ("SELECT 1 /* open", 1, 10, "unterminated comment"),
    ],
)
def test_syntax_errors_point_into_the_text(sql: str, line: int, column: int, description: str) -> None:
    with pytest.raises(FlinkSqlSyntaxError) as raised:
        parse(sql)
    error = raised.value
    assert (error.line, error.column) == (line, column)
    assert description in error.description
    assert str(error).startswith(f"syntax error at line {line}, column {column}: ")
    assert isinstance(error, WarehouseError)


def test_syntax_error_names_the_file_when_given() -> None:
    error = FlinkSqlSyntaxError("Expecting )", line=3, column=14, where="models/dwd/orders.sql")
    assert str(error) == "models/dwd/orders.sql: syntax error at line 3, column 14: Expecting )"


def test_parse_one_wants_exactly_one_statement() -> None:
    with pytest.raises(FlinkSqlSyntaxError, match="found 2") as raised:
        parse_one("SELECT 1;\n  SELECT 2")
    assert (raised.value.line, raised.value.column) == (2, 3)
    with pytest.raises(FlinkSqlSyntaxError, match="found none"):
        parse_one("  -- only a comment\n")


# ---------------------------------------------------------------------------------------------- references


def test_table_references_of_a_temporal_join() -> None:
    assert table_references(TEMPORAL_JOIN) == [
        TableRef("warehouse", "ods", "ods_orders", "o", temporal=False),
        TableRef("warehouse", "ods", "ods_product_catalog__lookup", "c", temporal=True),
    ]


def test_table_references_inside_window_tvfs() -> None:
    assert table_references(TUMBLE) == [TableRef("warehouse", "dwd", "dwd_orders", None, temporal=False)]
    assert [ref.name for ref in table_references(HOP)] == ["dwd_orders"]


def test_table_references_in_order_without_ctes_targets_or_repeats() -> None:
    sql = (
        'WITH recent AS (SELECT * FROM "db"."s"."first") '
        "INSERT INTO target SELECT r.a FROM recent AS r "
        "JOIN second AS s ON r.id = s.id "
        "LEFT JOIN (SELECT id FROM third) AS x ON x.id = r.id "
        "WHERE r.id IN (SELECT id FROM fourth) "
        "UNION ALL SELECT a FROM second AS s"
    )
    refs = table_references(sql)
    assert [ref.qualified_name for ref in refs] == ["db.s.first", "second", "third", "fourth"]
    assert refs[1].alias == "s"


def test_table_references_across_statements_and_a_statement_set() -> None:
    sql = "CREATE TEMPORARY VIEW v AS SELECT * FROM a;\n" + (
        "EXECUTE STATEMENT SET BEGIN INSERT INTO x SELECT * FROM b; INSERT INTO y SELECT * FROM a; END"
    )
    assert [ref.name for ref in table_references(sql)] == ["a", "b"]


# ----------------------------------------------------------------------------------------- output columns


def test_output_columns_of_aliases_and_plain_columns() -> None:
    assert output_columns(TEMPORAL_JOIN) == ["a", "name"]
    assert output_columns(TUMBLE) == ["window_start", "window_end", "shop_id", "s"]
    assert output_columns("SELECT `order`, t.x AS y FROM t") == ["order", "y"]


def test_output_columns_of_insert_and_union() -> None:
    assert output_columns("INSERT INTO t SELECT a, b AS c FROM s") == ["a", "c"]
    assert output_columns("SELECT a, b FROM s UNION ALL SELECT 1, 2") == ["a", "b"]


def test_unnamed_output_expression_is_reported_with_its_position() -> None:
    with pytest.raises(UnnamedColumnError) as raised:
        output_columns("SELECT a,\n       CAST(b AS INT)\nFROM t")
    error = raised.value
    assert error.position == 2
    assert error.line == 2
    assert "output column 2 (CAST(b AS INT))" in str(error)
    assert isinstance(error, ValueError) and isinstance(error, WarehouseError)


def test_star_needs_a_schema() -> None:
    with pytest.raises(UnresolvedStarError, match="ods_orders"):
        output_columns("SELECT * FROM warehouse.ods.ods_orders")
    with pytest.raises(UnresolvedStarError, match="x"):
        output_columns("SELECT x.* FROM t", {"t": ["a"]})


def test_star_expands_from_schemas_by_short_or_qualified_name() -> None:
    schemas = {"ods_orders": ["id", "amount"], "warehouse.ods.shops": ["shop_id", "shop_name"]}
    sql = "SELECT * FROM warehouse.ods.ods_orders AS o JOIN warehouse.ods.shops AS s ON o.id = s.shop_id"
    assert output_columns(sql, schemas) == ["id", "amount", "shop_id", "shop_name"]
    assert output_columns("SELECT s.*, o.id AS order_id FROM ods_orders AS o, warehouse.ods.shops s", schemas) == [
        "shop_id",
        "shop_name",
        "order_id",
    ]


def test_star_over_subqueries_ctes_and_windows() -> None:
    schemas = {"dwd_orders": ["id", "pay_time"]}
    assert output_columns("WITH c AS (SELECT id AS k FROM dwd_orders) SELECT * FROM c", schemas) == ["k"]
    assert output_columns("SELECT * FROM (SELECT id, 1 AS one FROM dwd_orders) AS q", schemas) == ["id", "one"]
    assert output_columns("SELECT * FROM dwd_orders AS d(a, b)") == ["a", "b"]
    assert output_columns(HOP.replace("window_start, window_end, SUM(x) AS s", "*"), schemas) == [
        "id",
        "pay_time",
        "window_start",
        "window_end",
        "window_time",
    ]


def test_output_columns_of_a_non_query() -> None:
    with pytest.raises(OutputColumnError, match="CREATE"):
        output_columns(CREATE_TABLE)


# --------------------------------------------------------------------------------------------- text helpers


def test_backtick_identifiers_touches_only_double_quoted_names() -> None:
    sql = (
        'SELECT "a", \'say "hi"\' AS s, -- "comment"\n'
        '  "we""ird", "with`tick" /* "block" */\n'
        'FROM "db"."s"."t" FOR SYSTEM_TIME AS OF x."p"'
    )
    assert backtick_identifiers(sql) == (
        'SELECT `a`, \'say "hi"\' AS s, -- "comment"\n'
        '  `we"ird`, `with``tick` /* "block" */\n'
        "FROM `db`.`s`.`t` FOR SYSTEM_TIME AS OF x.`p`"
    )


def test_backtick_identifiers_keeps_flink_syntax_byte_for_byte() -> None:
    sql = 'SELECT  *\nFROM TABLE(\n  TUMBLE(TABLE "db"."t", DESCRIPTOR(ts),INTERVAL \'1\'  MINUTE))'
    assert backtick_identifiers(sql) == sql.replace('"db"."t"', "`db`.`t`")
    assert backtick_identifiers("SELECT 'it''s \"x\"'") == "SELECT 'it''s \"x\"'"


def test_split_statements_respects_strings_comments_and_statement_sets() -> None:
    script = (
        "-- setup\n"
        "SET 'pipeline.name' = 'a;b';\n"
        "SELECT ';' AS \"x;y\" /* ; */ FROM t;;\n"
        "EXECUTE STATEMENT SET BEGIN\n"
        "  INSERT INTO a SELECT CASE WHEN x THEN 1 END AS c FROM t;\n"
        "  INSERT INTO b SELECT 'END' AS e FROM t;\n"
        "END;\n"
        "-- trailing comment only\n"
    )
    assert split_statements(script) == [
        "-- setup\nSET 'pipeline.name' = 'a;b'",
        "SELECT ';' AS \"x;y\" /* ; */ FROM t",
        "EXECUTE STATEMENT SET BEGIN\n"
        "  INSERT INTO a SELECT CASE WHEN x THEN 1 END AS c FROM t;\n"
        "  INSERT INTO b SELECT 'END' AS e FROM t;\n"
        "END",
    ]


def test_split_statements_of_empty_or_comment_only_text() -> None:
    assert split_statements("") == []
    assert split_statements("  ;\n-- nothing\n;") == []
    assert split_statements("SELECT 1") == ["SELECT 1"]


def test_statement_set_inserts_are_the_original_text() -> None:
    sql = (
        "EXECUTE STATEMENT SET\nBEGIN\n"
        "  INSERT INTO a SELECT CASE WHEN x THEN 1 END AS c FROM t;\n"
        "  -- second\n  INSERT INTO `b` SELECT 2 AS `end`;\n"
        "END;"
    )
    assert statement_set_inserts(sql) == [
        "INSERT INTO a SELECT CASE WHEN x THEN 1 END AS c FROM t",
        "-- second\n  INSERT INTO `b` SELECT 2 AS `end`",
    ]
    assert statement_set_inserts(STATEMENT_SET) == ["INSERT INTO a SELECT 1", "INSERT INTO b SELECT 2"]


@pytest.mark.parametrize(
    ("sql", "description"),
    [
        ("INSERT INTO a SELECT 1", "expecting EXECUTE STATEMENT SET BEGIN"),
        ("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;", "expecting END"),
        ("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END; SELECT 2", "unexpected text after END"),
    ],
)
def test_statement_set_inserts_rejects_other_text(sql: str, description: str) -> None:
    with pytest.raises(FlinkSqlSyntaxError, match=description):
        statement_set_inserts(sql)


@pytest.mark.parametrize(
    ("sql", "renamed"),
    [
        (
            "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)",
            "TUMBLE(TABLE t, DESCRIPTOR(`wh_rowtime`), INTERVAL '1' MINUTE)",
        ),
        ("HOP(TABLE t, descriptor ( `ts` ), x, y)", "HOP(TABLE t, descriptor ( `wh_rowtime` ), x, y)"),
        (
            'TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR("ts"), SIZE => x)',
            "TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR(`wh_rowtime`), SIZE => x)",
        ),
        ("TUMBLE(TABLE t, DESCRIPTOR(other), x)", "TUMBLE(TABLE t, DESCRIPTOR(other), x)"),
        ("SELECT ts, 'DESCRIPTOR(ts)' -- DESCRIPTOR(ts)", "SELECT ts, 'DESCRIPTOR(ts)' -- DESCRIPTOR(ts)"),
        ("SELECT DESCRIPTOR_x(ts), DESCRIPTOR(ts, other)", "SELECT DESCRIPTOR_x(ts), DESCRIPTOR(ts, other)"),
    ],
)
def test_rename_descriptors_touches_only_the_named_time_column(sql: str, renamed: str) -> None:
    assert rename_descriptors(sql, {"ts": "wh_rowtime"}) == renamed
