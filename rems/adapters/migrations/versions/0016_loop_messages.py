"""Bodies of the messages back to the prescriber's system (issue 16 item 5: closing the loop)

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01 13:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per outbox row of a loop kind: the FHIR Communication or NCPDP RxFill it sends.
    op.create_table('loop_messages',
    sa.Column('notification_id', sa.String(length=32), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=True),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                            name=op.f('fk_loop_messages_notification_id_notifications')),
    sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_loop_messages'))
    )


def downgrade() -> None:
    op.drop_table('loop_messages')
