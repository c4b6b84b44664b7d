"""audit entries written unchained and sealed into the chain afterwards; idempotent responses
stored after the effect's commit (issues 14 item 3 and 15 item 9)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa

from rems.adapters.orm import UTCDateTime
from rems.services.audit.audit_chain import BATCH, GENESIS, HEAD_ID, entry_hash


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

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
