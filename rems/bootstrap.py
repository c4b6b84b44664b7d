"""The composition root: settings in, a wired application out. Nothing connects before this."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rems.adapters import commit_hooks, outbox
from rems.adapters.audit_chain import SEALER, Sealing
from rems.adapters.database import make_engine, migrate, session_factory
from rems.adapters.notify import loop as loop_channels
from rems.adapters.orm import start_mappers
from rems.adapters.uow import UnitOfWork
from rems.services.audit.audit_sealer import Sealer
from rems.services.reminders import loop
from rems.settings import Settings
from workflows.products import check_product_overlaps
from workflows.program import Program, load_programs


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    programs: dict[str, Program]
    sealer: Sealer

    def uow(self, write: bool = True) -> UnitOfWork:
        """A writing unit of work unless `write=False` (reads only; never waits for a writer)."""
        return UnitOfWork(self.sessions, self.programs, write)

    def migrate(self) -> None:
        migrate(self.engine)


def bootstrap(settings: Settings | None = None) -> App:
    settings = settings or Settings()
    start_mappers()
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    sessions = session_factory(engine)
    sealer = Sealer(Sealing(engine), settings.audit_seal or "inline", settings.audit_seal_interval_seconds)
    sessions.configure(info={SEALER: sealer})  # issue 14 item 3: commits wake the sealer
    commit_hooks.install(sessions)
    # Issue 16 item 5: who hears back about refusals (settings), in the formats of rems.interop found
    # through the registry (the entry point group rems.loop_formats).
    outbox.install(sessions, loop.KEY, loop.routes_of(settings, loop_channels.formats))
    return App(settings, engine, sessions, check_product_overlaps(load_programs(settings.program_dir)), sealer)
