"""persons (R34), patients' time zones (T1), certification per program (R1, R25)

Every existing patient gets a person: patients whose normalised name, birth date and sex match
are linked to one person, and the migration reports what it linked (ids only, never names).
Every existing prescriber's and pharmacy's certification moves to the default program only
(REMS_DEFAULT_PROGRAM, pomalidomide unless set): certification in the other programs starts
again from "enrolled".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:30:00
"""
import logging
import os
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime

from alembic import op
import sqlalchemy as sa

from rems.domain.identity import name_key
from workflows.program import PROGRAM_DIR, ProgramError, load_programs

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
FALLBACK_ZONE = "America/New_York"


def _zones() -> dict[str, str]:
    try:
        return {p.id: p.time_zone for p in load_programs(PROGRAM_DIR).values()}
    except (OSError, ProgramError):
        return {}


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def upgrade() -> None:
    op.create_table('persons',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('name_key', 'birth_date', 'sex', name='uq_persons_identity'))
    op.create_table('person_identifiers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('system', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_person_identifiers_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_identifiers')),
    sa.UniqueConstraint('system', 'value', name='uq_person_identifiers_system_value'))
    op.create_index('ix_person_identifiers_person_id', 'person_identifiers', ['person_id'])
    op.create_table('readmission_decisions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_readmission_decisions_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readmission_decisions')))
    op.create_index('ix_readmission_decisions_person_id', 'readmission_decisions', ['person_id'])
    op.create_table('certifications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=40), nullable=False),
    sa.Column('holder_kind', sa.String(length=20), nullable=False),
    sa.Column('holder_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('certified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certifications')),
    sa.UniqueConstraint('holder_kind', 'holder_id', 'program_id',
                        name='uq_certifications_holder_program'))
    op.create_index('ix_certifications_state', 'certifications', ['state'])
    op.create_index('ix_certifications_certified_at', 'certifications', ['certified_at'])

    with op.batch_alter_table('patients') as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    now = datetime.now(UTC)
    zones = _zones()
    rows = bind.execute(sa.text(
        "SELECT id, program_id, name, birth_date, sex, state FROM patients ORDER BY enrolled_at, id")).all()
    live: dict[tuple[str, str], list[str]] = defaultdict(list)
    people: dict[tuple, str] = {}
    linked: dict[str, list[str]] = defaultdict(list)
    persons = sa.table('persons', sa.column('id'), sa.column('name_key'), sa.column('birth_date'),
                       sa.column('sex'), sa.column('created_at'), sa.column('version'))
    for row in rows:
        birth = date.fromisoformat(row.birth_date) if isinstance(row.birth_date, str) else row.birth_date
        key = (name_key(row.name), birth, row.sex)
        if key not in people:
            people[key] = _id("per")
            bind.execute(persons.insert().values(id=people[key], name_key=key[0], birth_date=birth,
                                                 sex=row.sex, created_at=now, version=1))
        linked[people[key]].append(row.id)
        if row.state != "discontinued":
            live[(people[key], row.program_id)].append(row.id)
        bind.execute(sa.text("UPDATE patients SET person_id = :person, time_zone = :zone WHERE id = :id"),
                     {"person": people[key], "zone": zones.get(row.program_id, FALLBACK_ZONE),
                      "id": row.id})
    shared = {person: ids for person, ids in linked.items() if len(ids) > 1}
    log.info("R34: %d patients linked to %d persons; %d persons have more than one enrollment",
             len(rows), len(people), len(shared))
    for person, ids in sorted(shared.items()):
        log.info("R34: person %s links patients %s", person, ", ".join(ids))
    for (person, program), ids in sorted(live.items()):
        if len(ids) > 1:  # enrolled twice before R34 refused it: the administrator decides
            log.warning("R34: person %s has %d live enrollments in %s: %s; transfer or discontinue "
                        "all but one", person, len(ids), program, ", ".join(ids))

    with op.batch_alter_table('patients') as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('time_zone', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_foreign_key(op.f('fk_patients_person_id_persons'), 'persons',
                                    ['person_id'], ['id'])
        batch_op.create_index('ix_patients_person_id', ['person_id'])
        batch_op.create_index('ix_patients_person_program', ['person_id', 'program_id'])

    # R1, R25: what was certified before applies to the default program only.
    program = os.environ.get("REMS_DEFAULT_PROGRAM", "pomalidomide")
    certifications = sa.table('certifications', sa.column('id'), sa.column('program_id'),
                              sa.column('holder_kind'), sa.column('holder_id'), sa.column('state'),
                              sa.column('certified_at'), sa.column('version'))
    moved = 0
    for kind, table in (("prescriber", "prescribers"), ("pharmacy", "pharmacies")):
        holders = sa.table(table, sa.column('id'), sa.column('state'), sa.column('certified_at'))
        for row in bind.execute(sa.select(holders)).all():
            bind.execute(certifications.insert().values(
                id=_id("crt"), program_id=program, holder_kind=kind, holder_id=row.id,
                state=row.state, certified_at=row.certified_at, version=1))
            moved += 1
    log.info("R1/R25: %d certifications moved to program %s only", moved, program)


def downgrade() -> None:
    # Before 0005 a certification was the holder's own state: keep the default program's.
    program = os.environ.get("REMS_DEFAULT_PROGRAM", "pomalidomide")
    for kind, table in (("prescriber", "prescribers"), ("pharmacy", "pharmacies")):
        for column in ("state", "certified_at"):
            op.execute(sa.text(
                f"UPDATE {table} SET {column} = (SELECT c.{column} FROM certifications c "  # noqa: S608
                f"WHERE c.holder_kind = :kind AND c.holder_id = {table}.id AND c.program_id = :program) "
                f"WHERE EXISTS (SELECT 1 FROM certifications c WHERE c.holder_kind = :kind "
                f"AND c.holder_id = {table}.id AND c.program_id = :program)"
            ).bindparams(kind=kind, program=program))
    with op.batch_alter_table('patients') as batch_op:
        batch_op.drop_index('ix_patients_person_program')
        batch_op.drop_index('ix_patients_person_id')
        batch_op.drop_constraint(op.f('fk_patients_person_id_persons'), type_='foreignkey')
        batch_op.drop_column('time_zone')
        batch_op.drop_column('person_id')
    op.drop_index('ix_certifications_certified_at', table_name='certifications')
    op.drop_index('ix_certifications_state', table_name='certifications')
    op.drop_table('certifications')
    op.drop_index('ix_readmission_decisions_person_id', table_name='readmission_decisions')
    op.drop_table('readmission_decisions')
    op.drop_index('ix_person_identifiers_person_id', table_name='person_identifiers')
    op.drop_table('person_identifiers')
    op.drop_table('persons')
