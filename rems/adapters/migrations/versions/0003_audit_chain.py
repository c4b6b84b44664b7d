"""audit chain: each audit entry carries its sequence, the previous entry's hash and its own (issue 6)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 18:00:00
"""
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alembic import op
import sqlalchemy as sa

from rems.adapters.orm import UTCDateTime


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Frozen here (issue 19): a migration imports nothing from the engine's code, so a later change
# there can never change what this revision does. The hash chain as it is defined (docs/audit.md,
# rems/domain/audit_chain.py), pinned by tests/audit/test_chain.py.
GENESIS = "0" * 64
HEAD_ID = 1
_FIELDS = ("seq", "at", "actor", "entity", "entity_id", "trigger", "from_state", "to_state", "reasons",
           "request_id", "refs")


def _moment(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    document = {name: _moment(content.get(name)) for name in _FIELDS}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                           default=str).encode("ascii")
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()

# 0001's append-only guards, lifted only while this migration chains the rows already there.
_SQLITE_GUARDS = {
    "audit_log_no_update": "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                           "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "audit_log_no_delete": "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                           "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
}

_log = sa.table(
    "audit_log", sa.column("id", sa.Integer), sa.column("at", UTCDateTime),
    sa.column("actor", sa.String), sa.column("entity", sa.String), sa.column("entity_id", sa.String),
    sa.column("trigger", sa.String), sa.column("from_state", sa.String), sa.column("to_state", sa.String),
    sa.column("reasons", sa.JSON), sa.column("request_id", sa.String), sa.column("refs", sa.JSON),
    sa.column("seq", sa.Integer), sa.column("prev_hash", sa.String), sa.column("hash", sa.String))


def _lift_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")


def _restore_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_GUARDS.values():
            op.execute(statement)
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def _chain_existing_rows() -> tuple[int, str]:
    """Chain the rows written before this revision, oldest (lowest id) first."""
    bind = op.get_bind()
    seq, prev = 0, GENESIS
    for row in bind.execute(sa.select(_log).order_by(_log.c.id)).mappings().all():
        seq += 1
        content = {**row, "seq": seq, "refs": None}
        digest = entry_hash(prev, content)
        bind.execute(sa.update(_log).where(_log.c.id == row["id"])
                     .values(seq=seq, prev_hash=prev, hash=digest, refs=None))
        prev = digest
    return seq, prev


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refs', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_audit_log_seq', ['seq'], unique=True)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    _lift_guards()
    seq, head = _chain_existing_rows()
    _restore_guards()
    op.execute(sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
               .insert().values(id=HEAD_ID, seq=seq, hash=head))


def downgrade() -> None:
    op.drop_table('audit_chain_head')
    _lift_guards()  # SQLite rebuilds the table to drop columns, and its triggers with it
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_at')
        batch_op.drop_index('uq_audit_log_seq')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
        batch_op.drop_column('refs')
    _restore_guards()
