"""The database password with `@ : /` in it (issue 15 item 7): given apart from the URL
(REMS_DATABASE_PASSWORD, as docker-compose.yml does), it is escaped into the URL, and the engine
signs in with it on a real PostgreSQL that checks passwords (SCRAM) for that role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from rems.bootstrap import bootstrap
from rems.settings import Settings
from tests import pg

PASSWORD = "p@ss:w/rd%?#&= x'\"\\"  # every character a URL or a shell treats specially


@pytest.fixture
def role(pg_cluster: pg.Cluster, pg_template: str) -> Iterator[tuple[str, str]]:
    """A role that must give its password (the cluster trusts everyone else), and its database."""
    name = f"rems_pw_{uuid.uuid4().hex[:8]}"
    database = pg_cluster.create_database(template=pg_template)
    hba = pg_cluster.data / "pg_hba.conf"
    before = hba.read_text()
    admin = create_engine(pg_cluster.url("postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    quoted = PASSWORD.replace("'", "''")
    try:
        with admin.connect() as connection:
            connection.execute(text("SET password_encryption = 'scram-sha-256'"))
            connection.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{quoted}'"))
            connection.execute(text(f'GRANT ALL ON DATABASE "{database}" TO {name}'))
            hba.write_text(f"host all {name} 127.0.0.1/32 scram-sha-256\n" + before)  # first match wins
            connection.execute(text("SELECT pg_reload_conf()"))
        yield name, database
    finally:
        hba.write_text(before)
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_reload_conf()"))
        pg_cluster.drop_database(database)
        with admin.connect() as connection:
            connection.execute(text(f"DROP ROLE IF EXISTS {name}"))
        admin.dispose()


def _url(cluster: pg.Cluster, role: str, database: str) -> str:
    return f"postgresql+psycopg://{role}@127.0.0.1:{cluster.port}/{database}"


def test_a_password_with_at_colon_slash_signs_in(pg_cluster: pg.Cluster, role: tuple[str, str]) -> None:
    name, database = role
    settings = Settings(env="test", database_url=_url(pg_cluster, name, database), database_password=PASSWORD)
    parsed = make_url(settings.database_url)
    assert (parsed.username, parsed.host, parsed.port, parsed.database, parsed.password) == (
        name, "127.0.0.1", pg_cluster.port, database, PASSWORD)
    app = bootstrap(settings)
    try:
        with app.engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == name
    finally:
        app.engine.dispose()


def test_the_role_really_needs_its_password(pg_cluster: pg.Cluster, role: tuple[str, str]) -> None:
    """Else the test above would pass whatever the URL held."""
    name, database = role
    for password in (None, "p"):
        app = bootstrap(Settings(env="test", database_url=_url(pg_cluster, name, database),
                                 database_password=password))
        try:
            with pytest.raises(OperationalError), app.engine.connect():
                pass
        finally:
            app.engine.dispose()


def test_a_password_in_both_places_is_refused() -> None:
    with pytest.raises(ValueError, match="REMS_DATABASE_PASSWORD"):
        Settings(env="test", database_url="postgresql+psycopg://rems:old@db/rems", database_password="new")
