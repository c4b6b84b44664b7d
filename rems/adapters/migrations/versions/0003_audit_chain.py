"""audit chain (issue 6; placeholder until it lands)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 18:00:00
"""


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
