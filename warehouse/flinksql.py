"""Flink SQL (1.20) for sqlglot, and the few analyses the control plane needs from a model's SQL.

`FlinkSQL` is a sqlglot dialect built on Hive's (backticks, STRING, Java date formats) with what Flink adds:
temporal joins (`FOR SYSTEM_TIME AS OF`), window table functions (`TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), ...))`),
`WATERMARK FOR` in CREATE TABLE, and statement sets (`EXECUTE STATEMENT SET BEGIN ...; END`). Double-quoted
names are identifiers, as dbt renders relations, and never strings.

The text helpers (`split_statements`, `backtick_identifiers`, `statement_set_inserts`) work on the original
characters with a small scanner and never regenerate SQL, so Flink syntax sqlglot does not know survives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlglot import exp, generator, tokens
from sqlglot.dialects.dialect import NormalizationStrategy
from sqlglot.dialects.hive import Hive
from sqlglot.errors import ParseError, TokenError
from sqlglot.generators.hive import HiveGenerator
from sqlglot.helper import seq_get
from sqlglot.parsers.hive import HiveParser
from sqlglot.tokenizer_core import Token, TokenType

from warehouse.errors import WarehouseError

__all__ = [
    "FlinkSQL",
    "FlinkSqlSyntaxError",
    "OutputColumnError",
    "StatementSet",
    "TableArgument",
    "TableRef",
    "UnnamedColumnError",
    "UnresolvedStarError",
    "backtick_identifiers",
    "output_columns",
    "parse",
    "parse_one",
    "split_statements",
    "statement_set_inserts",
    "table_references",
]

WINDOW_COLUMNS = ("window_start", "window_end", "window_time")
WINDOW_FUNCTIONS = frozenset({"TUMBLE", "HOP", "CUMULATE", "SESSION"})
_STATEMENT_SET_OPENING = ("EXECUTE", "STATEMENT", "SET", "BEGIN")


# --------------------------------------------------------------------------------------------------- errors


class FlinkSqlSyntaxError(WarehouseError):
    """SQL that does not parse; `line` and `column` (1-based) point into the text that was given."""

    def __init__(self, description: str, *, line: int, column: int, where: str | None = None) -> None:
        self.description = description
        self.line = line
        self.column = column
        super().__init__(f"syntax error at line {line}, column {column}: {description}", where=where)


class OutputColumnError(WarehouseError, ValueError):
    """The output columns of a query cannot be named."""


class UnnamedColumnError(OutputColumnError):
    """An output expression has neither an alias nor a column name (Flink would call it EXPR$n)."""

    def __init__(self, position: int, expression_sql: str, line: int | None, column: int | None) -> None:
        self.position = position
        self.line = line
        self.column = column
        at = f" near line {line}, column {column}" if line is not None else ""
        super().__init__(
            f"output column {position} ({expression_sql}){at} has no name",
            hint=f"give it an alias: {expression_sql} AS <name>",
        )


class UnresolvedStarError(OutputColumnError):
    """`*` or `alias.*` names a source whose columns are not known."""


# ------------------------------------------------------------------------------------- dialect: expressions


class TableArgument(exp.Expression):
    """`TABLE t` given to a table function, e.g. the first argument of a window TVF."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "partition_by": False}


class MetadataColumnConstraint(exp.Expression, exp.ColumnConstraintKind):
    """`METADATA [FROM 'key'] [VIRTUAL]` on a column of a CREATE TABLE."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False, "virtual": False}


class StatementSet(exp.Expression):
    """`EXECUTE STATEMENT SET BEGIN <insert>; ... END`; `expressions` are the INSERT statements."""

    arg_types: ClassVar[dict[str, bool]] = {"expressions": True}


# ---------------------------------------------------------------------------------------- dialect: classes


class _StatementSetScope:
    """Follows a statement word by word to tell whether it is inside `EXECUTE STATEMENT SET BEGIN ... END`."""

    def __init__(self) -> None:
        self._leading: list[str] = []
        self._case_depth = 0
        self.inside = False

    def see(self, word: str) -> None:
        word = word.upper()
        if not self.inside:
            if len(self._leading) < len(_STATEMENT_SET_OPENING):
                self._leading.append(word)
                self.inside = tuple(self._leading) == _STATEMENT_SET_OPENING
        elif word == "CASE":
            self._case_depth += 1
        elif word == "END":
            self.inside = self._case_depth > 0
            self._case_depth = max(self._case_depth - 1, 0)


_QUOTED_TOKENS = frozenset({TokenType.STRING, TokenType.IDENTIFIER, TokenType.NATIONAL_STRING})


def _chunk_tokens(tokens: Sequence[Token]) -> list[list[Token]]:
    """The token stream cut at top-level semicolons, keeping a statement set's inner semicolons."""
    chunks: list[list[Token]] = [[]]
    scope = _StatementSetScope()
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON and not scope.inside:
            if token.comments:
                chunks.append([token])
            if index < len(tokens) - 1:
                chunks.append([])
            scope = _StatementSetScope()
            continue
        chunks[-1].append(token)
        if token.token_type not in _QUOTED_TOKENS:
            scope.see(token.text)
    return chunks


class FlinkSQL(Hive):
    """sqlglot dialect for Flink SQL 1.20."""

    NORMALIZATION_STRATEGY = NormalizationStrategy.CASE_SENSITIVE
    UNESCAPED_SEQUENCES = {}  # noqa: RUF012 (sqlglot declares it a plain attribute)

    class Tokenizer(Hive.Tokenizer):
        QUOTES: ClassVar[list[tuple[str, str] | str]] = ["'"]
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = ["`", '"']
        STRING_ESCAPES: ClassVar[list[str]] = ["'"]
        NUMERIC_ESCAPES: ClassVar[dict[str, tuple[int, int, int, int]]] = {}
        NUMERIC_LITERALS: ClassVar[dict[str, str]] = {}
        NESTED_COMMENTS = False
        SINGLE_TOKENS: ClassVar[dict[str, TokenType]] = dict(tokens.Tokenizer.SINGLE_TOKENS)
        COMMANDS: ClassVar[set[TokenType]] = Hive.Tokenizer.COMMANDS - {TokenType.EXECUTE}
        KEYWORDS: ClassVar[dict[str, TokenType]] = {
            **Hive.Tokenizer.KEYWORDS,
            "BYTES": TokenType.VARBINARY,
            "MATCH_RECOGNIZE": TokenType.MATCH_RECOGNIZE,
            "RESET": TokenType.COMMAND,
        }

    class Parser(HiveParser):
        FUNCTIONS: ClassVar[dict[str, Any]] = {
            **HiveParser.FUNCTIONS,
            "TABLE": lambda args: exp.TableFromRows(this=seq_get(args, 0)),
            # Hive's readings of these differ from Flink's, so they stay plain calls and round-trip as written.
            "TIMESTAMPDIFF": lambda args: exp.Anonymous(this="TIMESTAMPDIFF", expressions=args),
            "UNIX_TIMESTAMP": lambda args: exp.Anonymous(this="UNIX_TIMESTAMP", expressions=args),
        }
        FUNC_TOKENS: ClassVar[set[TokenType]] = {*HiveParser.FUNC_TOKENS, TokenType.SESSION}
        STATEMENT_PARSERS: ClassVar[dict[TokenType, Any]] = {
            **HiveParser.STATEMENT_PARSERS,
            TokenType.EXECUTE: lambda self: self._parse_statement_set(),
        }
        CONSTRAINT_PARSERS: ClassVar[dict[str, Any]] = {
            **HiveParser.CONSTRAINT_PARSERS,
            "WATERMARK": lambda self: self.expression(
                exp.WatermarkColumnConstraint(
                    this=self._match(TokenType.FOR) and self._parse_column(),
                    expression=self._match(TokenType.ALIAS) and self._parse_disjunction(),
                )
            ),
            "METADATA": lambda self: self.expression(
                MetadataColumnConstraint(
                    this=self._match(TokenType.FROM) and self._parse_string(),
                    virtual=self._match_text_seq("VIRTUAL"),
                )
            ),
        }
        LAMBDAS: ClassVar[dict[TokenType, Any]] = {
            **HiveParser.LAMBDAS,
            # Named arguments, e.g. TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '1' MINUTE)
            TokenType.FARROW: lambda self, expressions: self.expression(
                exp.Kwarg(
                    this=exp.var(expressions[0].name),
                    expression=self._parse_table_argument() or self._parse_disjunction() or self._parse_select(),
                )
            ),
        }
        SCHEMA_UNNAMED_CONSTRAINTS: ClassVar[set[str]] = {*HiveParser.SCHEMA_UNNAMED_CONSTRAINTS, "WATERMARK"}

        def _parse(self, parse_method: Any, raw_tokens: list[Token], sql: str | None = None) -> Any:
            # Same as sqlglot's, except that a statement set keeps its inner semicolons.
            self.reset()
            self.sql = sql or ""
            self._chunks = _chunk_tokens(raw_tokens)
            return self._parse_batch_statements(parse_method=parse_method, sep_first_statement=False)

        def raise_error(self, message: str, token: Token | None = None) -> None:
            # Remember where the offending token starts (or, past the last token, where the text ends).
            past_the_end = token is None and not self._curr
            token = token or self._curr or self._prev or Token.string("")
            try:
                super().raise_error(message, token)
            except ParseError as error:
                error.errors[0]["offset"] = token.end + 1 if past_the_end else token.start
                raise

        def _parse_lambda(self, alias: bool = False) -> exp.Expr | None:
            return self._parse_table_argument() or super()._parse_lambda(alias)

        def _parse_table_argument(self) -> TableArgument | None:
            if self._curr.token_type != TokenType.TABLE or self._next.token_type not in self.ID_VAR_TOKENS:
                return None
            self._advance()
            table = self._parse_table_parts()
            partition_by: list[exp.Expr | None] | None = None
            if self._match(TokenType.PARTITION_BY):  # SESSION(TABLE t PARTITION BY k, ...) or PARTITION BY (k1, k2)
                wrapped = self._match(TokenType.L_PAREN, advance=False)
                partition_by = self._parse_wrapped_csv(self._parse_column) if wrapped else [self._parse_column()]
            return self.expression(TableArgument(this=table, partition_by=partition_by))

        def _parse_types(
            self,
            check_func: bool = False,
            schema: bool = False,
            allow_identifiers: bool = True,
            with_collation: bool = False,
        ) -> exp.Expr | None:
            # ROW<name type, ...> is Flink's spelling of STRUCT<...>.
            if self._curr.token_type == TokenType.ROW and self._next.token_type == TokenType.LT:
                self._curr.token_type = TokenType.STRUCT
            return super()._parse_types(
                check_func=check_func, schema=schema, allow_identifiers=allow_identifiers, with_collation=with_collation
            )

        def _parse_statement_set(self) -> exp.Expr:
            if not self._match_text_seq("STATEMENT", "SET", "BEGIN"):
                return self._parse_as_command(self._prev)
            inserts: list[exp.Expr] = []
            while self._curr and not self._match(TokenType.END):
                if self._match(TokenType.SEMICOLON):
                    continue
                start, index = self._curr, self._index
                statement = self._parse_statement()
                if isinstance(statement, exp.Insert):
                    inserts.append(statement)
                else:
                    self.raise_error("A statement set holds only INSERT statements", start)
                if self._index == index or self._curr.token_type not in (TokenType.SEMICOLON, TokenType.END):
                    self.raise_error("Expecting ; or END")
                    break
            if self._prev.token_type != TokenType.END:
                self.raise_error("Expecting END of the statement set")
            elif not inserts:
                self.raise_error("A statement set needs at least one INSERT statement", self._prev)
            return self.expression(StatementSet(expressions=inserts))

    class Generator(HiveGenerator):
        SUPPORTS_TEMPORAL_PRECISION = True
        WITH_PROPERTIES_PREFIX = "WITH"
        TRANSFORMS: ClassVar[dict[type[exp.Expr], Any]] = {
            **HiveGenerator.TRANSFORMS,
            TableArgument: lambda self, e: (
                f"TABLE {self.sql(e, 'this')}"
                + (
                    f" PARTITION BY ({self.expressions(e, key='partition_by', flat=True)})"
                    if e.args.get("partition_by")
                    else ""
                )
            ),
            MetadataColumnConstraint: lambda self, e: (
                "METADATA"
                + (f" FROM {self.sql(e, 'this')}" if e.this else "")
                + (" VIRTUAL" if e.args.get("virtual") else "")
            ),
            exp.CurrentTimestamp: lambda self, e: "CURRENT_TIMESTAMP",
            exp.CurrentDate: lambda self, e: "CURRENT_DATE",
            StatementSet: lambda self, e: (
                "EXECUTE STATEMENT SET\nBEGIN\n" + "".join(f"{self.sql(insert)};\n" for insert in e.expressions) + "END"
            ),
        }
        TYPE_MAPPING: ClassVar[dict[exp.DType, str]] = {
            **HiveGenerator.TYPE_MAPPING,
            exp.DType.TIMESTAMPLTZ: "TIMESTAMP_LTZ",
            exp.DType.VARBINARY: "BYTES",
            exp.DType.STRUCT: "ROW",
        }

        def columndef_sql(self, expression: exp.ColumnDef, sep: str = " ") -> str:
            # Hive writes STRUCT<a: INT>; Flink's ROW<a INT> has no colon.
            return generator.Generator.columndef_sql(self, expression, sep)

        def version_sql(self, expression: exp.Version) -> str:
            if expression.name == "TIMESTAMP" and expression.text("kind") == "AS OF":
                return f"FOR SYSTEM_TIME AS OF {self.sql(expression, 'expression')}"
            return super().version_sql(expression)


_DIALECT = FlinkSQL()


# ------------------------------------------------------------------------------------------- text scanning


@dataclass(frozen=True)
class _Lexeme:
    """A stretch of SQL text: `kind` is word, string, quoted (a "..." name), backticked, comment or symbol."""

    kind: str
    start: int
    end: int


_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z0-9_$]+")
_QUOTE_KINDS = {"'": "string", '"': "quoted", "`": "backticked"}


def _lexemes(sql: str) -> Iterator[_Lexeme]:
    """The lexemes of `sql` in order, whitespace left out; strings, names and comments are kept whole."""
    position = 0
    while position < len(sql):
        kind, end = _next_lexeme(sql, position)
        if kind != "space":
            yield _Lexeme(kind, position, end)
        position = end


def _next_lexeme(sql: str, start: int) -> tuple[str, int]:
    char = sql[start]
    if space := _SPACE.match(sql, start):
        return "space", space.end()
    if sql.startswith("--", start):
        newline = sql.find("\n", start)
        return "comment", len(sql) if newline < 0 else newline
    if sql.startswith("/*", start):
        close = sql.find("*/", start + 2)
        if close < 0:
            raise _syntax_error_at(sql, start, "unterminated comment")
        return "comment", close + 2
    if char in _QUOTE_KINDS:
        return _QUOTE_KINDS[char], _quoted_end(sql, start)
    if word := _WORD.match(sql, start):
        return "word", word.end()
    return "symbol", start + 1


def _quoted_end(sql: str, start: int) -> int:
    """Where the quoted text opened at `start` ends; a doubled quote inside is an escaped quote."""
    quote = sql[start]
    position = start + 1
    while (close := sql.find(quote, position)) >= 0:
        if not sql.startswith(quote * 2, close):
            return close + 1
        position = close + 2
    what = "string" if quote == "'" else "quoted identifier"
    raise _syntax_error_at(sql, start, f"unterminated {what} (missing closing {quote})")


def _line_and_column(sql: str, offset: int) -> tuple[int, int]:
    line_start = sql.rfind("\n", 0, offset) + 1
    return sql.count("\n", 0, offset) + 1, offset - line_start + 1


def _syntax_error_at(sql: str, offset: int, description: str) -> FlinkSqlSyntaxError:
    line, column = _line_and_column(sql, offset)
    return FlinkSqlSyntaxError(description, line=line, column=column)


def _statement_spans(sql: str) -> list[tuple[int, int]]:
    """(start, end) of each statement: cut at top-level semicolons, comment-only pieces dropped."""
    spans: list[tuple[int, int]] = []
    first: _Lexeme | None = None
    last: _Lexeme | None = None
    has_code = False
    scope = _StatementSetScope()
    for lexeme in _lexemes(sql):
        if lexeme.kind == "symbol" and sql[lexeme.start] == ";" and not scope.inside:
            if first and last and has_code:
                spans.append((first.start, last.end))
            first, last, has_code, scope = None, None, False, _StatementSetScope()
            continue
        first = first or lexeme
        last = lexeme
        if lexeme.kind != "comment":
            has_code = True
        if lexeme.kind in ("word", "symbol"):
            scope.see(sql[lexeme.start : lexeme.end])
    if first and last and has_code:
        spans.append((first.start, last.end))
    return spans


# ----------------------------------------------------------------------------------------- text helpers


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split on top-level semicolons.

    Semicolons inside strings, quoted names, comments and an `EXECUTE STATEMENT SET BEGIN ... END` do not
    split. Each statement is the original text (leading comments included) without the semicolon.
    """
    return [sql[start:end] for start, end in _statement_spans(sql)]


def statement_set_inserts(sql: str) -> list[str]:
    """The INSERT statements of `EXECUTE STATEMENT SET BEGIN <insert>; ... END`, as their original text."""
    start, end = _statement_set_body(sql)
    return split_statements(sql[start:end])


def _statement_set_body(sql: str) -> tuple[int, int]:
    """Offsets of the text between BEGIN and its END in `EXECUTE STATEMENT SET BEGIN ... END`."""
    code = [lexeme for lexeme in _lexemes(sql) if lexeme.kind != "comment"]
    scope = _StatementSetScope()
    begin: _Lexeme | None = None
    for index, lexeme in enumerate(code):
        if lexeme.kind in ("word", "symbol"):
            scope.see(sql[lexeme.start : lexeme.end])
        if begin is None and scope.inside:
            begin = lexeme
        elif begin is None and index >= len(_STATEMENT_SET_OPENING) - 1:
            raise _syntax_error_at(sql, code[0].start, "expecting EXECUTE STATEMENT SET BEGIN")
        elif begin is not None and not scope.inside:
            trailing = [sql[after.start : after.end] for after in code[index + 1 :]]
            if trailing not in ([], [";"]):
                raise _syntax_error_at(sql, code[index + 1].start, "unexpected text after END of the statement set")
            return begin.end, lexeme.start
    missing = "END of the statement set" if begin else "EXECUTE STATEMENT SET BEGIN"
    raise _syntax_error_at(sql, len(sql), f"expecting {missing}")


def backtick_identifiers(sql: str) -> str:
    """`sql` with every double-quoted name ("db"."schema"."t", as dbt renders relations) in backticks.

    Strings, comments and everything else are kept character for character.
    """
    pieces: list[str] = []
    copied_up_to = 0
    for lexeme in _lexemes(sql):
        if lexeme.kind == "quoted":
            name = sql[lexeme.start + 1 : lexeme.end - 1].replace('""', '"')
            pieces += [sql[copied_up_to : lexeme.start], "`", name.replace("`", "``"), "`"]
            copied_up_to = lexeme.end
    pieces.append(sql[copied_up_to:])
    return "".join(pieces)


def rename_descriptors(sql: str, renames: Mapping[str, str]) -> str:
    """`sql` with `DESCRIPTOR(old)` read as `DESCRIPTOR(`new`)` for every `old` -> `new` of `renames`.

    Only the name inside DESCRIPTOR( ) changes; everything else is kept character for character."""
    lexemes = list(_lexemes(sql))
    pieces: list[str] = []
    copied_up_to = 0
    for index in range(len(lexemes) - 3):
        word, open_, name, close = lexemes[index : index + 4]
        if not _is_descriptor(sql, word, open_, close):
            continue
        new = renames.get(_name_text(sql, name) or "")
        if new is not None:
            pieces += [sql[copied_up_to : name.start], "`", new.replace("`", "``"), "`"]
            copied_up_to = name.end
    pieces.append(sql[copied_up_to:])
    return "".join(pieces)


def _is_descriptor(sql: str, word: _Lexeme, open_: _Lexeme, close: _Lexeme) -> bool:
    keyword = word.kind == "word" and sql[word.start : word.end].upper() == "DESCRIPTOR"
    return keyword and sql[open_.start : open_.end] == "(" and sql[close.start : close.end] == ")"


def _name_text(sql: str, lexeme: _Lexeme) -> str | None:
    """The name a word, `backticked` or "quoted" lexeme spells; None for other lexemes."""
    text = sql[lexeme.start : lexeme.end]
    if lexeme.kind == "word":
        return text
    if lexeme.kind in ("backticked", "quoted"):
        quote = text[0]
        return text[1:-1].replace(quote * 2, quote)
    return None


# ---------------------------------------------------------------------------------------------- parsing


def parse(sql: str) -> list[exp.Expression]:
    """Every statement of `sql` as a sqlglot tree; raises FlinkSqlSyntaxError pointing into `sql`.

    Statements sqlglot cannot model (SHOW, ADD JAR, CREATE CATALOG, ...) come back as `exp.Command`.
    """
    _check_quotes_and_comments(sql)
    try:
        statements = _DIALECT.parse(sql)
    except ParseError as error:
        raise _from_parse_error(sql, error) from None
    except TokenError as error:
        raise _from_token_error(sql, error) from None
    # A semicolon carrying only a comment comes back as a Semicolon node; it is no statement.
    return [node for node in statements if isinstance(node, exp.Expression) and not isinstance(node, exp.Semicolon)]


def _check_quotes_and_comments(sql: str) -> None:
    """Raise, with the exact position, for an unterminated string, quoted name or comment."""
    for _ in _lexemes(sql):
        pass


def parse_one(sql: str) -> exp.Expression:
    """The single statement in `sql`; more or fewer is a FlinkSqlSyntaxError."""
    statements = parse(sql)
    if len(statements) == 1:
        return statements[0]
    spans = _statement_spans(sql)
    if not statements:
        raise _syntax_error_at(sql, 0, "expecting a statement, found none")
    offset = spans[1][0] if len(spans) > 1 else 0
    raise _syntax_error_at(sql, offset, f"expecting one statement, found {len(statements)}")


_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")


def _from_parse_error(sql: str, error: ParseError) -> FlinkSqlSyntaxError:
    details: dict[str, Any] = error.errors[0] if error.errors else {}
    description = _TOKEN_REPR.sub(_describe_token, str(details.get("description") or error).strip())
    if "offset" in details:
        line, column = _line_and_column(sql, details["offset"])
    else:
        line, column = details.get("line") or 1, details.get("col") or 1
    return FlinkSqlSyntaxError(description, line=line, column=column)


def _describe_token(match: re.Match[str]) -> str:
    return "end of input" if match[1] == "SENTINEL" else repr(match[2])


def _from_token_error(sql: str, error: TokenError) -> FlinkSqlSyntaxError:
    # sqlglot only quotes a context window that opens and closes 50 characters around the problem.
    if error.start:
        offset = error.start + 50
    elif error.end is not None and error.end < len(sql) - 1:
        offset = error.end - 50
    else:
        offset = 0
    return _syntax_error_at(sql, max(0, min(offset, len(sql))), "cannot tokenize the SQL here")


# ------------------------------------------------------------------------------------------ table references


@dataclass(frozen=True)
class TableRef:
    """A table read in FROM or JOIN; `temporal` marks the lookup side of `FOR SYSTEM_TIME AS OF`."""

    catalog: str | None
    database: str | None
    name: str
    alias: str | None
    temporal: bool

    @property
    def qualified_name(self) -> str:
        """catalog.database.name, leaving out the parts that were not written."""
        return ".".join(part for part in (self.catalog, self.database, self.name) if part)

    @classmethod
    def of(cls, table: exp.Table) -> TableRef:
        return cls(
            catalog=table.catalog or None,
            database=table.db or None,
            name=table.name,
            alias=table.alias or None,
            temporal=table.args.get("version") is not None,
        )


def table_references(sql: str) -> list[TableRef]:
    """Every table read in FROM/JOIN (window TVF inputs and subqueries included), in order of appearance.

    A repeat (same name, alias and lookup flag) is listed once. Names of CTEs are not tables and are left
    out; the target of INSERT INTO or CREATE is not a read.
    """
    references: list[TableRef] = []
    for statement in parse(sql):
        cte_names = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        for table in sorted(_read_tables(statement), key=lambda table: _source_offset(table) or 0):
            reference = TableRef.of(table)
            is_cte = reference.database is None and reference.name in cte_names
            if not is_cte and reference not in references:
                references.append(reference)
    return references


def _read_tables(statement: exp.Expression) -> Iterator[exp.Table]:
    for table in statement.find_all(exp.Table):
        if isinstance(table.parent, (exp.From, exp.Join, TableArgument)) and table.name:
            yield table


def _source_offset(node: exp.Expr) -> int | None:
    """Where `node` starts in the parsed text: the smallest offset sqlglot recorded among its parts."""
    offsets = [part.meta["start"] for part in node.walk() if part.meta and "start" in part.meta]
    return min(offsets, default=None)


# ---------------------------------------------------------------------------------------------- output columns


def output_columns(select_sql: str, schemas: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The names of the columns a SELECT (or INSERT ... SELECT) produces, in order.

    A name is the alias, or the column name of a plain column reference; any other expression without an
    alias raises UnnamedColumnError. `*` and `alias.*` are expanded from `schemas`, which maps a table's
    name (as written, dotted, e.g. `warehouse.ods.ods_orders`, or just `ods_orders`) to its columns;
    subqueries, CTEs and window TVFs (input columns + window_start, window_end, window_time) resolve themselves.
    """
    statement = parse_one(select_sql)
    query = statement.expression if isinstance(statement, exp.Insert) else statement
    if not isinstance(query, exp.Query):
        raise OutputColumnError(f"expecting a SELECT, found {statement.key.upper()}")
    return _OutputColumns(select_sql, schemas or {}).of_query(query, {})


class _OutputColumns:
    def __init__(self, sql: str, schemas: Mapping[str, Sequence[str]]) -> None:
        self.sql = sql
        self.schemas = schemas

    def of_query(self, query: exp.Expr, ctes: Mapping[str, exp.Expr]) -> list[str]:
        if isinstance(query, exp.Query):
            ctes = {**ctes, **{cte.alias_or_name: cte.this for cte in query.ctes}}
        if isinstance(query, exp.SetOperation):
            return self.of_query(query.left, ctes)
        if isinstance(query, exp.Subquery):
            return self.of_query(query.this, ctes)
        if not isinstance(query, exp.Select):
            raise OutputColumnError(f"cannot name the columns of {query.key.upper()}")
        names: list[str] = []
        for position, projection in enumerate(query.expressions, start=1):
            names += self.of_projection(projection, position, query, ctes)
        return names

    def of_projection(
        self, projection: exp.Expr, position: int, select: exp.Select, ctes: Mapping[str, exp.Expr]
    ) -> list[str]:
        if isinstance(projection, exp.Star):
            return [name for source in _sources(select) for name in self.of_source(source, ctes)]
        if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
            return self.of_source(_source_named(select, projection.table), ctes)
        if isinstance(projection, exp.Alias):
            return [projection.alias]
        if isinstance(projection, exp.Column):
            return [projection.name]
        offset = _source_offset(projection)
        line, column = _line_and_column(self.sql, offset) if offset is not None else (None, None)
        raise UnnamedColumnError(position, projection.sql(dialect=FlinkSQL), line, column)

    def of_source(self, source: exp.Expr, ctes: Mapping[str, exp.Expr]) -> list[str]:
        alias = source.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns:
            return [column.name for column in alias.columns]
        if isinstance(source, exp.Subquery):
            return self.of_query(source.this, ctes)
        if isinstance(source, exp.TableFromRows) and source.this.name.upper() in WINDOW_FUNCTIONS:
            window_input = source.find(TableArgument)
            if window_input is not None:
                return [*self.of_source(window_input.this, ctes), *WINDOW_COLUMNS]
        if isinstance(source, exp.Table):
            return self.of_table(source, ctes)
        raise UnresolvedStarError(f"cannot expand * over {source.sql(dialect=FlinkSQL)}")

    def of_table(self, table: exp.Table, ctes: Mapping[str, exp.Expr]) -> list[str]:
        written = ".".join(part.name for part in table.parts)
        if not table.db and table.name in ctes:
            return self.of_query(ctes[table.name], ctes)
        for key in (written, table.name):
            if key in self.schemas:
                return list(self.schemas[key])
        raise UnresolvedStarError(
            f"cannot expand * over {written}: its columns are unknown",
            hint=f"list the columns, or pass schemas={{'{table.name}': [...]}}",
        )


def _sources(select: exp.Select) -> list[exp.Expr]:
    """What a SELECT reads from, in order: the FROM item, then each JOIN's."""
    from_ = select.args.get("from_")
    joins: list[exp.Join] = select.args.get("joins") or []
    return ([from_.this] if from_ else []) + [join.this for join in joins]


def _source_named(select: exp.Select, name: str) -> exp.Expr:
    for source in _sources(select):
        if source.alias_or_name == name:
            return source
    raise UnresolvedStarError(f"{name}.* names no table in FROM or JOIN")
