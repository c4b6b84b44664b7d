"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 15:35:52.921844
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# STYLE 5: the audit log is append-only, enforced by the database itself, not only the code.
_SQLITE_GUARDS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def _guard_audit_log() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_GUARDS if dialect == "sqlite" else _POSTGRES_GUARDS:
        op.execute(statement)


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id', 'id'], unique=False)

    op.create_table('pharmacies',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ncpdp_id', sa.String(length=20), nullable=False),
    sa.Column('representative_enrolled', sa.Boolean(), nullable=False),
    sa.Column('staff_trained', sa.Boolean(), nullable=False),
    sa.Column('records_and_audits_accepted', sa.Boolean(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('certified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pharmacies')),
    sa.UniqueConstraint('ncpdp_id', name=op.f('uq_pharmacies_ncpdp_id'))
    )
    with op.batch_alter_table('pharmacies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pharmacies_state'), ['state'], unique=False)

    op.create_table('prescribers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('npi', sa.String(length=20), nullable=False),
    sa.Column('attested', sa.Boolean(), nullable=False),
    sa.Column('education_reviewed', sa.Boolean(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('certified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescribers')),
    sa.UniqueConstraint('npi', name=op.f('uq_prescribers_npi'))
    )
    with op.batch_alter_table('prescribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescribers_state'), ['state'], unique=False)

    op.create_table('patients',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('prescriber_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('menarche', sa.Boolean(), nullable=False),
    sa.Column('hysterectomy', sa.Boolean(), nullable=False),
    sa.Column('bilateral_oophorectomy', sa.Boolean(), nullable=False),
    sa.Column('postmenopausal_since', sa.Date(), nullable=True),
    sa.Column('cycles_regular', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('test_phase', sa.String(length=20), nullable=False),
    sa.Column('hold_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescribers.id'], name=op.f('fk_patients_prescriber_id_prescribers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patients_birth_date'), ['birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_prescriber_id'), ['prescriber_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_test_phase'), ['test_phase'], unique=False)

    op.create_table('patient_surveys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('respondent', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_surveys_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_surveys'))
    )
    with op.batch_alter_table('patient_surveys', schema=None) as batch_op:
        batch_op.create_index('ix_patient_surveys_patient_completed', ['patient_id', 'completed_at'], unique=False)

    op.create_table('ppafs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('prescriber_id', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_by', sa.String(length=10), nullable=False),
    sa.Column('guardian_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_ppafs_patient_id_patients')),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescribers.id'], name=op.f('fk_ppafs_prescriber_id_prescribers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ppafs'))
    )
    with op.batch_alter_table('ppafs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ppafs_patient_id'), ['patient_id'], unique=False)

    op.create_table('pregnancy_reports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_pregnancy_reports_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pregnancy_reports'))
    )
    with op.batch_alter_table('pregnancy_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pregnancy_reports_patient_id'), ['patient_id'], unique=False)

    op.create_table('pregnancy_tests',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('sensitivity_miu_per_ml', sa.Integer(), nullable=False),
    sa.Column('setting', sa.String(length=10), nullable=False),
    sa.Column('home_test_accepted', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_pregnancy_tests_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pregnancy_tests'))
    )
    with op.batch_alter_table('pregnancy_tests', schema=None) as batch_op:
        batch_op.create_index('ix_pregnancy_tests_patient_collected', ['patient_id', 'collected_at'], unique=False)

    op.create_table('prescriptions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('prescriber_id', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('days_supply', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('refills', sa.Integer(), nullable=False),
    sa.Column('contraception_counselling_attested', sa.Boolean(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('authorized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('qualifying_test_id', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_prescriptions_patient_id_patients')),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescribers.id'], name=op.f('fk_prescriptions_prescriber_id_prescribers')),
    sa.ForeignKeyConstraint(['qualifying_test_id'], ['pregnancy_tests.id'], name=op.f('fk_prescriptions_qualifying_test_id_pregnancy_tests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriptions')),
    sa.UniqueConstraint('number', name=op.f('uq_prescriptions_number'))
    )
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescriptions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_state'), ['state'], unique=False)

    op.create_table('confirmations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('prescription_id', sa.String(length=32), nullable=False),
    sa.Column('pharmacy_id', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pharmacy_id'], ['pharmacies.id'], name=op.f('fk_confirmations_pharmacy_id_pharmacies')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_confirmations_prescription_id_prescriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_confirmations')),
    sa.UniqueConstraint('number', name=op.f('uq_confirmations_number'))
    )
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confirmations_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('uq_confirmations_live', ['prescription_id'], unique=True, sqlite_where=sa.text("state = 'issued'"), postgresql_where=sa.text("state = 'issued'"))

    op.create_table('prescriber_surveys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('prescriber_id', sa.String(length=32), nullable=False),
    sa.Column('prescription_id', sa.String(length=32), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescribers.id'], name=op.f('fk_prescriber_surveys_prescriber_id_prescribers')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_prescriber_surveys_prescription_id_prescriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriber_surveys')),
    sa.UniqueConstraint('prescription_id', name=op.f('uq_prescriber_surveys_prescription_id'))
    )
    op.create_table('dispenses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('prescription_id', sa.String(length=32), nullable=False),
    sa.Column('confirmation_id', sa.String(length=32), nullable=False),
    sa.Column('pharmacy_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('dispensed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('days_supply', sa.Integer(), nullable=False),
    sa.Column('counselled', sa.Boolean(), nullable=False),
    sa.Column('education_checklist_completed', sa.Boolean(), nullable=False),
    sa.Column('medication_guide_given', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['confirmation_id'], ['confirmations.id'], name=op.f('fk_dispenses_confirmation_id_confirmations')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_dispenses_patient_id_patients')),
    sa.ForeignKeyConstraint(['pharmacy_id'], ['pharmacies.id'], name=op.f('fk_dispenses_pharmacy_id_pharmacies')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_dispenses_prescription_id_prescriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispenses')),
    sa.UniqueConstraint('confirmation_id', name=op.f('uq_dispenses_confirmation_id')),
    sa.UniqueConstraint('prescription_id', name=op.f('uq_dispenses_prescription_id'))
    )
    with op.batch_alter_table('dispenses', schema=None) as batch_op:
        batch_op.create_index('ix_dispenses_patient_dispensed', ['patient_id', 'dispensed_at'], unique=False)
    _guard_audit_log()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")

    with op.batch_alter_table('dispenses', schema=None) as batch_op:
        batch_op.drop_index('ix_dispenses_patient_dispensed')

    op.drop_table('dispenses')
    op.drop_table('prescriber_surveys')
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.drop_index('uq_confirmations_live', sqlite_where=sa.text("state = 'issued'"), postgresql_where=sa.text("state = 'issued'"))
        batch_op.drop_index(batch_op.f('ix_confirmations_expires_at'))

    op.drop_table('confirmations')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriptions_state'))
        batch_op.drop_index(batch_op.f('ix_prescriptions_patient_id'))
        batch_op.drop_index(batch_op.f('ix_prescriptions_expires_at'))

    op.drop_table('prescriptions')
    with op.batch_alter_table('pregnancy_tests', schema=None) as batch_op:
        batch_op.drop_index('ix_pregnancy_tests_patient_collected')

    op.drop_table('pregnancy_tests')
    with op.batch_alter_table('pregnancy_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pregnancy_reports_patient_id'))

    op.drop_table('pregnancy_reports')
    with op.batch_alter_table('ppafs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ppafs_patient_id'))

    op.drop_table('ppafs')
    with op.batch_alter_table('patient_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_surveys_patient_completed')

    op.drop_table('patient_surveys')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_test_phase'))
        batch_op.drop_index(batch_op.f('ix_patients_state'))
        batch_op.drop_index(batch_op.f('ix_patients_prescriber_id'))
        batch_op.drop_index(batch_op.f('ix_patients_birth_date'))

    op.drop_table('patients')
    with op.batch_alter_table('prescribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescribers_state'))

    op.drop_table('prescribers')
    with op.batch_alter_table('pharmacies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pharmacies_state'))

    op.drop_table('pharmacies')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')

    op.drop_table('audit_log')

