"""CDS Hooks JWT ids seen (issue 16 item 1: jti replay refused)

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per accepted JWT, deleted once expired: the primary key refuses a second use.
    op.create_table('cds_jwt_ids',
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('issuer', 'jti', name=op.f('pk_cds_jwt_ids'))
    )
    op.create_index('ix_cds_jwt_ids_expires', 'cds_jwt_ids', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cds_jwt_ids_expires', table_name='cds_jwt_ids')
    op.drop_table('cds_jwt_ids')
