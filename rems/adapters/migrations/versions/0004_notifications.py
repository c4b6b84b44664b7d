"""notifications (the reminder outbox), contacts, and the indexes the reminder sweep reads

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The sweep selects what falls due in a window of days (issue 4): index the columns it ranges over.
SWEEP_INDEXES = [
    ('pregnancy_tests', 'ix_pregnancy_tests_collected', ['collected_at']),
    ('patient_surveys', 'ix_patient_surveys_completed', ['completed_at']),
    ('dispenses', 'ix_dispenses_supply_dispensed', ['days_supply', 'dispensed_at']),
    ('dispenses', 'ix_dispenses_dispensed', ['dispensed_at']),
    ('prescriptions', 'ix_prescriptions_state_requested', ['state', 'requested_at']),
    ('patients', 'ix_patients_postmenopausal_since', ['postmenopausal_since']),
    ('prescribers', 'ix_prescribers_certified_at', ['certified_at']),
    ('pharmacies', 'ix_pharmacies_certified_at', ['certified_at']),
]


def upgrade() -> None:
    # A reminder is sent at most once per natural key, however often the sweep runs.
    op.create_table('notifications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('rule', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('recipient', 'kind', 'subject', 'due_on', name='uq_notifications_natural_key')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_state_next', ['state', 'next_attempt_at'], unique=False)

    op.create_table('notification_contacts',
    sa.Column('recipient', sa.String(length=80), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('recipient', name=op.f('pk_notification_contacts'))
    )
    for table, name, columns in SWEEP_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(SWEEP_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table('notification_contacts')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_state_next')
    op.drop_table('notifications')
