"""A Core SELECT compiled once per dialect and run on the DBAPI cursor (issue 14 item 2).

SQLAlchemy spends 150-250 µs per statement of the check before the database does anything (its
execution context, result metadata, Row objects); the check's two statements cost 80 µs on the raw
sqlite3 cursor. `Prepared` keeps what SQLAlchemy would compute per execution and computes it once
per store: the SQL text in the driver's parameter style, the order of the bound values, the values
of the statement's own literals, and each column's result processor (the same function
SQLAlchemy applies: `UTCDateTime`, `DecimalText`, SQLite's Boolean and DateTime parsing), so the
values are exactly those a `Connection.execute` would give. psycopg prepares a statement on the
server after a few executions of the same text on a connection (its `prepare_threshold`), so on
PostgreSQL the text is parsed and planned once per pooled connection too.

It runs in the connection's transaction (begun as SQLAlchemy would begin it, so SQLite's deferred
`BEGIN` of a read and the writer's `BEGIN IMMEDIATE` stay as they are); the engine's
`before_cursor_execute` listeners still see each statement (the tests count statements there);
a driver error is raised as SQLAlchemy's `DBAPIError` (without its parameters), so
`lost_a_race` and the error handlers see what they always saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Select
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any]


class Prepared:
    """One SELECT for one dialect: `rows(connection, params)` gives tuples in its column order,
    each value processed as SQLAlchemy would; `index[key]` is a column's position."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        # The statement's own literals (e.g. a certification's holder kind); the rest are given.
        self.defaults = {name: bind.effective_value for name, bind in binds.items()
                         if bind.value is not None or not bind.required}
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.binders = {name: p for name, bind in binds.items()
                        if (p := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        columns = list(statement.selected_columns)
        self.keys = tuple(str(column.key) for column in columns)
        self.index = {key: i for i, key in enumerate(self.keys)}
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.processed: tuple[tuple[int, Processor], ...] = tuple(
            (i, p) for i, p in enumerate(processors) if p is not None)
        self._error = dialect.loaded_dbapi.Error

    def _arguments(self, params: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.defaults, **params}
        for name, binder in self.binders.items():
            values[name] = binder(values[name])
        return [values[name] for name in self.order] if self.order is not None else values

    def rows(self, connection: Connection, params: dict[str, Any]) -> list[list[Any]]:
        arguments = self._arguments(params)
        if not connection.in_transaction():
            connection.begin()  # as SQLAlchemy's autobegin would (the engine's "begin" listeners run)
        cursor = connection.connection.cursor()
        try:
            for listener in connection.dispatch.before_cursor_execute:
                listener(connection, cursor, self.sql, arguments, None, False)
            cursor.execute(self.sql, arguments)
            found = cursor.fetchall()
        except self._error as error:
            raise DBAPIError.instance(self.sql, arguments, error, self._error, hide_parameters=True,
                                      dialect=connection.dialect) from error
        finally:
            cursor.close()
        processed = self.processed
        out = []
        for raw in found:
            row = list(raw)
            for i, process in processed:
                if row[i] is not None:  # NULL stays None for every type these statements read
                    row[i] = process(row[i])
            out.append(row)
        return out
