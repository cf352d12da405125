"""Flink's parser stopping at a word it reserves gets the fix (backticks), row by row over its messages."""

from __future__ import annotations

import pytest

from warehouse.lifecycle.validate import reserved_word_hint

MESSAGES = [
    # (Flink's message, the word the hint names or None)
    ('org.apache.flink.sql.parser.impl.ParseException: Encountered "model" at line 4, column 36.', "model"),
    ('ParseException: Encountered "value" at line 2, column 8.\nWas expecting one of: ...', "value"),
    ('ParseException: Encountered "timestamp" at line 1, column 30.', "timestamp"),
    ('ParseException: Encountered "FROM" at line 3, column 1.', None),  # a trailing comma, not a column
    ('ParseException: Encountered "," at line 3, column 1.', None),
    ("Column 'pay_idd' not found in any table", None),
]


@pytest.mark.parametrize(("message", "word"), MESSAGES)
def test_a_reserved_word_gets_backticks_as_the_fix(message: str, word: str | None) -> None:
    hint = reserved_word_hint(message)
    if word is None:
        assert hint is None
    else:
        assert (
            hint
            == f"`{word}` is a reserved word in Flink SQL: write it in backticks (`{word}`) where it names a column"
        )
