"""patient_latest gains each patient's program, so R28's ranges are chosen per program (issue 14 item 6)

The survey (R20) and refill (R28) finders select on `patient_latest`'s latest dispense, one range
per days_supply. Without a program column those ranges were built from every program's parameters
and applied to every patient: one program's wide refill window (mycophenolate's 30 days) selected
every patient of the others dispensed in the last ~29 days, so the candidates grew with the
population. With `program_id` here (a patient's program is set at enrollment and never changes:
another program is another patient row, R34) each program's ranges apply to its own patients, on
the (program_id, last_dispense_supply, last_dispense_at) index that replaces the
(last_dispense_supply, last_dispense_at) one; no join with `patients`.

The triggers of migration 0014 are replaced by the same ones that also look the program up from
the patient when they insert a patient's row (an update leaves it: it cannot change). The column
is filled from `patients` and made NOT NULL (SQLite: the table is rebuilt, its triggers dropped
before and recreated after, all in the migration's one transaction).

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-01 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = "0018"
branch_labels = None
depends_on = None

# As in 0014: (trigger, table, condition on NEW or None, [(summary column, NEW column, "max"/"min",
# [(carried column, NEW column)])]); copied here so that this migration does not change with 0014.
KEPT = [
    ('latest_test', 'pregnancy_tests', "NEW.result = 'negative'",
     [('last_negative_test_at', 'collected_at', 'max', [('last_negative_sensitivity', 'sensitivity_miu_per_ml')])]),
    ('latest_survey', 'patient_surveys', None, [('last_survey_at', 'completed_at', 'max', [])]),
    ('latest_dispense', 'dispenses', None,
     [('last_dispense_at', 'dispensed_at', 'max', [('last_dispense_supply', 'days_supply')]),
      ('first_dispense_at', 'dispensed_at', 'min', [])]),
]
PROGRAM = '(SELECT p.program_id FROM patients p WHERE p.id = NEW.patient_id)'


def _upserts(keep: list, with_program: bool) -> list[str]:
    """One upsert per kept anchor: insert the patient's row (with its program, looked up from the
    patient, when `with_program`), or update it when NEW is later (earlier, for a minimum)."""
    out = []
    for column, source, how, carried in keep:
        columns = [column] + [c for c, _ in carried]
        values = [f'NEW.{source}'] + [f'NEW.{s}' for _, s in carried]
        sets = ', '.join(f'{c} = excluded.{c}' for c in columns)
        compare = '>=' if how == 'max' else '<'
        inserted = (['program_id'] if with_program else []) + columns
        given = ([PROGRAM] if with_program else []) + values
        out.append(f"INSERT INTO patient_latest (patient_id, {', '.join(inserted)}) "  # noqa: S608 - our names
                   f"VALUES (NEW.patient_id, {', '.join(given)}) "
                   f"ON CONFLICT (patient_id) DO UPDATE SET {sets} "
                   f"WHERE patient_latest.{column} IS NULL OR excluded.{column} {compare} patient_latest.{column};")
    return out


def _drop_triggers(sqlite: bool) -> None:
    for name, table, _condition, _keep in reversed(KEPT):
        op.execute(f'DROP TRIGGER trg_{name}' + ('' if sqlite else f' ON {table}'))
        if not sqlite:
            op.execute(f'DROP FUNCTION rems_{name}()')


def _create_triggers(sqlite: bool, with_program: bool) -> None:
    for name, table, condition, keep in KEPT:
        body = '\n    '.join(_upserts(keep, with_program))
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


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    _drop_triggers(sqlite)  # first: SQLite's table rebuild must not meet triggers naming the table
    op.add_column('patient_latest', sa.Column('program_id', sa.String(length=40), nullable=True))
    op.execute('UPDATE patient_latest SET program_id = '
               '(SELECT p.program_id FROM patients p WHERE p.id = patient_latest.patient_id)')
    op.drop_index('ix_patient_latest_dispense', table_name='patient_latest')
    with op.batch_alter_table('patient_latest') as batch:
        batch.alter_column('program_id', existing_type=sa.String(length=40), nullable=False)
    op.create_index('ix_patient_latest_program_dispense', 'patient_latest',
                    ['program_id', 'last_dispense_supply', 'last_dispense_at'])
    _create_triggers(sqlite, with_program=True)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    _drop_triggers(sqlite)
    op.drop_index('ix_patient_latest_program_dispense', table_name='patient_latest')
    with op.batch_alter_table('patient_latest') as batch:
        batch.drop_column('program_id')
    op.create_index('ix_patient_latest_dispense', 'patient_latest', ['last_dispense_supply', 'last_dispense_at'])
    _create_triggers(sqlite, with_program=False)
