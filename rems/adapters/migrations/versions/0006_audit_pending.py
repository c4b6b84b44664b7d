"""audit entries written unchained and sealed into the chain afterwards; idempotent responses
stored after the effect's commit (issues 14 item 3 and 15 item 9)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00
"""
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alembic import op
import sqlalchemy as sa

from rems.adapters.orm import UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Frozen here (issue 19): a migration imports nothing from the engine's code, so a later change
# there can never change what this revision does. The hash chain as it is defined (docs/audit.md,
# rems/domain/audit_chain.py), pinned by tests/audit/test_chain.py.
GENESIS = "0" * 64
HEAD_ID = 1
BATCH = 500  # entries chained per transaction
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


_STAGED = ("at", "actor", "entity", "entity_id", "trigger", "from_state", "to_state", "reasons",
           "request_id", "refs")


def upgrade() -> None:
    # Existing chains are untouched: every audit_log row stays chained; the head stays where it is.
    op.create_table('audit_pending',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('refs', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('response', existing_type=sa.JSON(), nullable=True)


def _seal_what_is_pending() -> None:
    """Down: chain the entries still pending the way 0005's engine would have (none is lost)."""
    bind = op.get_bind()
    pending = sa.table("audit_pending", sa.column("id", sa.Integer), sa.column("at", UTCDateTime),
                       *(sa.column(name) for name in _STAGED[1:]))
    log = sa.table("audit_log", *(sa.column(name) for name in (*_STAGED, "seq", "prev_hash", "hash")))
    head = sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
    row = bind.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == HEAD_ID)).first()
    seq, prev = (int(row.seq), str(row.hash)) if row else (0, GENESIS)
    rows = bind.execute(sa.select(pending).order_by(pending.c.id)).mappings().all()
    for start in range(0, len(rows), BATCH):
        chained = []
        for entry in rows[start:start + BATCH]:
            seq += 1
            content = {**{name: entry[name] for name in _STAGED}, "seq": seq}
            digest = entry_hash(prev, content)
            chained.append({**content, "prev_hash": prev, "hash": digest})
            prev = digest
        bind.execute(log.insert(), chained)
    if rows:
        values = {"seq": seq, "hash": prev}
        if row:
            bind.execute(head.update().where(head.c.id == HEAD_ID).values(**values))
        else:
            bind.execute(head.insert().values(id=HEAD_ID, **values))


def downgrade() -> None:
    _seal_what_is_pending()
    op.drop_table('audit_pending')
    op.execute("DELETE FROM idempotency_keys WHERE status IS NULL OR response IS NULL")
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.alter_column('response', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('status', existing_type=sa.Integer(), nullable=False)
