"""Hand-written SQL for hot paths, where the ORM spent more CPU composing a query than PostgreSQL spent answering
it: a model's columns for a SELECT and back into an instance, and statements planned once per connection."""

import functools
import hashlib
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connection, models
from django.db.backends.utils import CursorWrapper

_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class Columns(Generic[_M]):
    """A model's columns for a hand-written SELECT, and how to turn the values back into an instance."""

    model: type[_M]
    names: tuple[str, ...]  # attnames, in the order of `sql`
    sql: str  # "alias"."column", ...
    converters: tuple[tuple[int, Callable[..., Any]], ...]  # (position, from_db_value) of fields that convert

    def load(self, values: Sequence[Any]) -> _M:
        if self.converters:
            values = list(values)
            for position, convert in self.converters:
                values[position] = convert(values[position], None, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, list(self.names), values)


@functools.cache
def columns(model: type[_M], alias: str, only: tuple[str, ...] = ()) -> Columns[_M]:
    """All concrete fields of `model` (or the attnames `only`, then the instance defers the rest)."""
    fields = [f for f in model._meta.concrete_fields if not only or f.attname in only]
    return Columns(
        model=model,
        names=tuple(f.attname for f in fields),
        sql=", ".join(f'"{alias}"."{f.column}"' for f in fields),
        converters=tuple((i, f.from_db_value) for i, f in enumerate(fields) if hasattr(f, "from_db_value")),
    )


class Prepared:
    """A statement PostgreSQL plans once per connection (SQL `PREPARE`), then only runs (`EXECUTE`): planning the bid
    path's statements cost the server several times more than running them (the auction with the buyer's standing:
    about 1.8 ms of its CPU on every bid, 0.3 ms prepared). SQL-level, through Django's cursor: psycopg's own
    prepared statements are off under Django and would be dropped on every rollback; these live as long as the
    connection (the pool reuses it), so a pooler in front must keep sessions (no PgBouncer transaction pooling).
    `sql` takes `%(name)s` (or `%s`) placeholders, `types` their SQL types."""

    def __init__(self, label: str, sql: str, types: Mapping[str, str] | Sequence[str]) -> None:
        if isinstance(types, Mapping):
            self.names: list[str] | None = list(types)
            body = sql % {name: f"${i}" for i, name in enumerate(types, 1)}
            declared = list(types.values())
        else:
            self.names = None
            body = sql % tuple(f"${i}" for i in range(1, len(types) + 1))
            declared = list(types)
        self.name = f"{label}_{hashlib.sha256(body.encode()).hexdigest()[:10]}"
        self.prepare = f"PREPARE {self.name} ({', '.join(declared)}) AS {body}"
        self.execute = f"EXECUTE {self.name} ({', '.join(['%s'] * len(declared))})"

    def run(self, cursor: CursorWrapper, values: Mapping[str, Any] | Sequence[Any]) -> CursorWrapper:
        """Execute with `values` (a mapping for named placeholders), preparing first on a new connection."""
        done = _prepared.setdefault(connection.connection, set())
        if self.name not in done:
            cursor.execute(self.prepare)
            done.add(self.name)
        if self.names is not None:
            values = [cast(Mapping[str, Any], values)[name] for name in self.names]
        cursor.execute(self.execute, values)
        return cursor


# The statements prepared on each psycopg connection (a connection's prepared statements die with it).
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
