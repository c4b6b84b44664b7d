"""Program lifecycle changes, relaxation activations and waiver uses (issue 17 items 4-5)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('program_status_changes',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_status_changes'))
    )
    op.create_index(op.f('ix_program_status_changes_program_id'), 'program_status_changes',
                    ['program_id'], unique=False)
    op.create_table('relaxation_activations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('activated_by', sa.String(length=80), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=80), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=80), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relaxation_activations'))
    )
    op.create_index(op.f('ix_relaxation_activations_program_id'), 'relaxation_activations',
                    ['program_id'], unique=False)
    op.create_table('waiver_uses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('prescription_id', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('waiver', sa.String(length=80), nullable=False),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activation_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiver_uses'))
    )
    op.create_index('ix_waiver_uses_program_at', 'waiver_uses', ['program_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_waiver_uses_program_at', table_name='waiver_uses')
    op.drop_table('waiver_uses')
    op.drop_index(op.f('ix_relaxation_activations_program_id'), table_name='relaxation_activations')
    op.drop_table('relaxation_activations')
    op.drop_index(op.f('ix_program_status_changes_program_id'), table_name='program_status_changes')
    op.drop_table('program_status_changes')
