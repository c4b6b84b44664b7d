"""Contact details at enrollment and the prescribed strength (issue 18, office lane)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 16:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_details',
    sa.Column('holder_kind', sa.String(length=20), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('preferred', sa.String(length=10), nullable=True),
    sa.Column('guardian_phone', sa.String(length=16), nullable=True),
    sa.Column('guardian_email', sa.String(length=254), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('holder_kind', 'holder_id', name=op.f('pk_contact_details'))
    )
    # nullable: existing prescriptions stay as they are (strength not recorded)
    op.add_column('prescriptions', sa.Column('strength', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('prescriptions') as batch:
        batch.drop_column('strength')
    op.drop_table('contact_details')
