"""Bulk inserts into the migrated schema: COPY on PostgreSQL, executemany elsewhere.

The seeder hands rows as dicts keyed by column name. Before the first insert the live schema is
reflected: a NOT NULL column without a default that the seeder does not fill (a migration landed
since it was written) stops the run with the table and column named, instead of seeding a
population the engine would read differently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, inspect

from rems.adapters import orm

# Foreign keys point backwards in this order.
ORDER = ("prescribers", "pharmacies", "certifications", "persons", "patients", "ppafs", "pregnancy_tests",
         "patient_surveys",
         "prescriptions", "prescriber_surveys", "confirmations", "dispenses", "pregnancy_reports",
         "audit_log")


class SchemaDrift(SystemExit):
    pass


def check_schema(engine: Engine, filled: Mapping[str, Iterable[str]]) -> None:
    """Refuse to seed a table with a required column the seeder does not know."""
    inspector = inspect(engine)
    for table, columns in filled.items():
        known = set(columns)
        for column in inspector.get_columns(table):
            required = not column["nullable"] and column.get("default") is None \
                and column.get("autoincrement") is not True and column["name"] not in known
            if required and not (table == "audit_log" and column["name"] == "id"):
                raise SchemaDrift(f"benchmarks/seed.py: {table}.{column['name']} is required by the "
                                  "schema and not seeded; update the seeder for the new migration")


def insert(connection: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
    else:
        _executemany(connection, table, rows)


def _executemany(connection: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """The DBAPI's executemany with the columns' own bind processors (the values are stored exactly
    as the ORM stores them), without Core's per-row parameter machinery (5x faster)."""
    columns = list(rows[0])
    dialect = connection.dialect
    processors = [orm.metadata.tables[table].c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in columns]
    pairs = list(zip(columns, processors, strict=True))
    values = [tuple(p(row[c]) if p else row[c] for c, p in pairs) for row in rows]
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (our names)
    connection.exec_driver_sql(statement, values)


def _copy(connection: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    json_columns = {c.name for c in orm.metadata.tables[table].columns if c.type.__class__.__name__ == "JSON"}
    raw = connection.connection.driver_connection
    assert raw is not None
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in json_columns else row[c] for c in columns])
