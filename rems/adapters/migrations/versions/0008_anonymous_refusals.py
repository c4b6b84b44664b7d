"""anonymous_refusals: refused requests without an identity, counted per minute and route (issue 15 item 8)

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa

from rems.adapters.orm import UTCDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'anonymous_refusals',
        sa.Column('minute', UTCDateTime(), nullable=False),
        sa.Column('route', sa.String(200), nullable=False),
        sa.Column('code', sa.String(40), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('minute', 'route', 'code', name='pk_anonymous_refusals'))


def downgrade() -> None:
    op.drop_table('anonymous_refusals')
