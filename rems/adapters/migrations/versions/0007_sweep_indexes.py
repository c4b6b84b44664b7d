"""indexes the reminder sweep and the expiry sweep range over by state and expiry (issue 14 item 6)

The expiry sweep (R23, R27) and the reminders of expired authorizations and confirmations
selected a range of expiry instants and then rejected, row by row, those in another state: at
1 M patients tens of thousands of rows per query. On (state, expires_at) each reads only the
rows of its state in its range.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 11:10:00
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEXES = [
    ('prescriptions', 'ix_prescriptions_state_expires', ['state', 'expires_at']),
    ('confirmations', 'ix_confirmations_state_expires', ['state', 'expires_at']),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
