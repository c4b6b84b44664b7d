"""Lab results other than hCG (issue 17 item 1: ALT, AST, ANC, bilirubin)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Values are exact decimal text (rems.adapters.orm.DecimalText), as the laboratory reported them.
    op.create_table('lab_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('analyte', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('upper_limit_normal', sa.String(length=40), nullable=True),
    sa.Column('lower_limit', sa.String(length=40), nullable=True),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('setting', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_lab_results_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_results'))
    )
    op.create_index('ix_lab_results_patient_collected', 'lab_results', ['patient_id', 'collected_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_lab_results_patient_collected', table_name='lab_results')
    op.drop_table('lab_results')
