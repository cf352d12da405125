"""Values of fixture rows and of Flink's results, typed by the column's Flink type so they compare exactly.

`typed` reads a value as written in YAML (or returned by the SQL Gateway as JSON) into a Python value:
DECIMAL(p, s) -> Decimal with scale s, TIMESTAMP(p) -> naive datetime, TIMESTAMP_LTZ -> UTC datetime, DATE ->
date, TIME -> time, integers -> int, FLOAT/DOUBLE -> float, BOOLEAN -> bool, STRING -> str, ARRAY<T> -> list.
`to_json` writes a typed value as Flink's JSON formats read it; `shown` renders one for a diff.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

INTEGER_TYPES = ("TINYINT", "SMALLINT", "INT", "BIGINT")
FLOAT_TYPES = ("FLOAT", "DOUBLE")
TEXT_TYPES = ("STRING", "VARCHAR", "CHAR")
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_ARRAY = re.compile(r"^ARRAY<(.+)>$")
_UNITS = {"MILLISECOND": "milliseconds", "SECOND": "seconds", "MINUTE": "minutes", "HOUR": "hours", "DAY": "days"}


class ValueTypeError(ValueError):
    """A value that does not fit its column's type; the message says what was expected."""


def typed(value: Any, flink_type: str) -> Any:
    if value is None:
        return None
    try:
        return _reader(flink_type)(value)
    except (ValueError, TypeError, InvalidOperation):
        raise ValueTypeError(f"{value!r} is not a valid {flink_type} value{_example(flink_type)}") from None


def _reader(flink_type: str) -> Callable[[Any], Any]:
    array, decimal = _ARRAY.match(flink_type), _DECIMAL.match(flink_type)
    if array:
        element = array.group(1)
        return lambda value: [typed(item, element) for item in _list(value)]
    if decimal:
        scale = int(decimal.group(2))
        return lambda value: _decimal(value, scale)
    return _READERS.get(flink_type.split("(")[0].strip(), lambda value: value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise TypeError(value)
    return int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    return float(value)


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise TypeError(value)
    return value if isinstance(value, str) else str(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _decimal(value: Any, scale: int) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(value)
    number = Decimal(str(value))
    quantized = number.quantize(Decimal(1).scaleb(-scale))
    return quantized if quantized == number else number


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise TypeError(value)
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def _timestamp(value: Any) -> datetime:
    moment = _moment(value)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _timestamp_ltz(value: Any) -> datetime:
    moment = _moment(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).strip())


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else base64.b64decode(str(value), validate=True)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(value)
    return value


_READERS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(INTEGER_TYPES, _integer),
    **dict.fromkeys(FLOAT_TYPES, _float),
    **dict.fromkeys(TEXT_TYPES, _text),
    "BOOLEAN": _boolean,
    "DATE": _date,
    "TIME": _time,
    "TIMESTAMP": _timestamp,
    "TIMESTAMP_LTZ": _timestamp_ltz,
    "BYTES": _bytes,
}


def _example(flink_type: str) -> str:
    examples = {"TIMESTAMP": "'2024-01-01 10:00:00'", "DATE": "'2024-01-01'", "TIME": "'10:00:00'"}
    example = examples.get(flink_type.split("(")[0].removesuffix("_LTZ"))
    return f" (e.g. {example})" if example else ""


def to_json(value: Any) -> Any:
    """A typed value as Flink's JSON formats read it (timestamps in SQL format, decimals as text)."""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return text.isoformat(sep=" ") + ("Z" if value.tzinfo else "")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def shown(value: Any) -> str:
    """A value as a diff shows it: NULL, text quoted, timestamps with a space."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    return str(to_json(value))


def interval(delay: str) -> timedelta:
    """`'5 SECOND'` (a watermark delay as model config writes it) as a timedelta."""
    amount, unit = delay.split()
    return timedelta(**{_UNITS[unit.upper().rstrip("S")]: int(amount)})
