"""the latest events of each patient, kept by the database as they are recorded (issue 14 item 6)

The reminder sweep selected on past events (every survey, test or dispense whose date plus an
interval falls in the window) and then rejected, by an anti-join over the history, those followed
by a later one: at 1 M patients most candidates were rejected and the "find" step grew with the
population. `patient_latest` holds, per patient, what those anti-joins were looking for: the
latest negative pregnancy test (and its sensitivity: R9, R11), the latest patient survey (R20),
the first dispense (R11: treatment start) and the latest one with its days of supply (R28). The
finders (rems/services/reminders/due_patients.py) select on these dates through their indexes, so they read
only patients whose latest event puts something in the window.

Kept by triggers on INSERT (the history tables are append-only), on both databases, so every
writer (services, imports) keeps it without code of its own; filled here from the history.
A tie (two rows at the same instant) keeps the one inserted last.

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-01 13:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = "0016"
branch_labels = None
depends_on = None

# (trigger, table, condition on NEW or None, {summary column: NEW column}, kept when NEW is later
# ("max", the anchor) / earlier ("min"))
KEPT = [
    ('latest_test', 'pregnancy_tests', "NEW.result = 'negative'",
     [('last_negative_test_at', 'collected_at', 'max', [('last_negative_sensitivity', 'sensitivity_miu_per_ml')])]),
    ('latest_survey', 'patient_surveys', None, [('last_survey_at', 'completed_at', 'max', [])]),
    ('latest_dispense', 'dispenses', None,
     [('last_dispense_at', 'dispensed_at', 'max', [('last_dispense_supply', 'days_supply')]),
      ('first_dispense_at', 'dispensed_at', 'min', [])]),
]


def _upserts(keep: list) -> list[str]:
    """One upsert per kept anchor: insert the patient's row, or update it when NEW is later
    (earlier, for a minimum)."""
    out = []
    for column, source, how, carried in keep:
        columns = [column] + [c for c, _ in carried]
        values = [f'NEW.{source}'] + [f'NEW.{s}' for _, s in carried]
        sets = ', '.join(f'{c} = excluded.{c}' for c in columns)
        compare = '>=' if how == 'max' else '<'
        out.append(f"INSERT INTO patient_latest (patient_id, {', '.join(columns)}) "  # noqa: S608 - our names
                   f"VALUES (NEW.patient_id, {', '.join(values)}) "
                   f"ON CONFLICT (patient_id) DO UPDATE SET {sets} "
                   f"WHERE patient_latest.{column} IS NULL OR excluded.{column} {compare} patient_latest.{column};")
    return out


def upgrade() -> None:
    op.create_table('patient_latest',
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('last_negative_test_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_negative_sensitivity', sa.Integer(), nullable=True),
    sa.Column('last_survey_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_dispense_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_dispense_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_dispense_supply', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_latest_patient_id_patients')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_patient_latest'))
    )
    op.create_index('ix_patient_latest_test', 'patient_latest', ['last_negative_test_at'])
    op.create_index('ix_patient_latest_sensitivity', 'patient_latest', ['last_negative_sensitivity'])
    op.create_index('ix_patient_latest_survey', 'patient_latest', ['last_survey_at'])
    op.create_index('ix_patient_latest_dispense', 'patient_latest', ['last_dispense_supply', 'last_dispense_at'])
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for name, table, condition, keep in KEPT:
        body = '\n    '.join(_upserts(keep))
        if sqlite:
            when = f' WHEN {condition}' if condition else ''
            op.execute(f'CREATE TRIGGER trg_{name} AFTER INSERT ON {table} FOR EACH ROW{when}\n'
                       f'BEGIN\n    {body}\nEND')
        else:
            body = (f'IF {condition} THEN\n    {body}\n    END IF;' if condition else body)
            op.execute(f'CREATE FUNCTION rems_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n'
                       f'BEGIN\n    {body}\n    RETURN NULL;\nEND $$')
            op.execute(f'CREATE TRIGGER trg_{name} AFTER INSERT ON {table} FOR EACH ROW '
                       f'EXECUTE FUNCTION rems_{name}()')
    # What the triggers would have kept, from the history recorded so far.
    op.execute("""
INSERT INTO patient_latest (patient_id, last_negative_test_at, last_negative_sensitivity, last_survey_at,
                            first_dispense_at, last_dispense_at, last_dispense_supply)
SELECT p.id,
  (SELECT t.collected_at FROM pregnancy_tests t WHERE t.patient_id = p.id AND t.result = 'negative'
   ORDER BY t.collected_at DESC LIMIT 1),
  (SELECT t.sensitivity_miu_per_ml FROM pregnancy_tests t WHERE t.patient_id = p.id AND t.result = 'negative'
   ORDER BY t.collected_at DESC LIMIT 1),
  (SELECT max(s.completed_at) FROM patient_surveys s WHERE s.patient_id = p.id),
  (SELECT min(d.dispensed_at) FROM dispenses d WHERE d.patient_id = p.id),
  (SELECT d.dispensed_at FROM dispenses d WHERE d.patient_id = p.id ORDER BY d.dispensed_at DESC LIMIT 1),
  (SELECT d.days_supply FROM dispenses d WHERE d.patient_id = p.id ORDER BY d.dispensed_at DESC LIMIT 1)
FROM patients p
WHERE EXISTS (SELECT 1 FROM pregnancy_tests t WHERE t.patient_id = p.id AND t.result = 'negative')
   OR EXISTS (SELECT 1 FROM patient_surveys s WHERE s.patient_id = p.id)
   OR EXISTS (SELECT 1 FROM dispenses d WHERE d.patient_id = p.id)
""")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for name, table, _condition, _keep in reversed(KEPT):
        op.execute(f'DROP TRIGGER trg_{name}' + ('' if sqlite else f' ON {table}'))
        if not sqlite:
            op.execute(f'DROP FUNCTION rems_{name}()')
    op.drop_index('ix_patient_latest_dispense', table_name='patient_latest')
    op.drop_index('ix_patient_latest_survey', table_name='patient_latest')
    op.drop_index('ix_patient_latest_sensitivity', table_name='patient_latest')
    op.drop_index('ix_patient_latest_test', table_name='patient_latest')
    op.drop_table('patient_latest')
