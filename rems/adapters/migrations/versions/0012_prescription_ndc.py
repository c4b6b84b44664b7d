"""The product prescribed: an optional NDC on the prescription (issue 17 item 7, R24)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 13:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 11 digits (workflows/products.py); NULL for every prescription written without a product.
    op.add_column('prescriptions', sa.Column('ndc', sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('prescriptions') as batch:
        batch.drop_column('ndc')
