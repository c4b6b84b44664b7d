"""Submitted forms (issue 16 item 3: questionnaires); a failed survey is kept here only

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-01 14:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('form_responses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=64), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('wrong', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_responses'))
    )
    op.create_index('ix_form_responses_subject_submitted', 'form_responses', ['subject_id', 'submitted_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_form_responses_subject_submitted', table_name='form_responses')
    op.drop_table('form_responses')
