"""Find actors by the identifiers the wire carries (NPI, NCPDP id); ids only, never names."""

from __future__ import annotations

from sqlalchemy import select

from rems.adapters import orm
from rems.adapters.uow import UnitOfWork
from rems.domain.model import Pharmacy, Prescriber


def pharmacy_by_ncpdp(uow: UnitOfWork, ncpdp_id: str) -> Pharmacy | None:
    query = select(Pharmacy).where(orm.pharmacies.c.ncpdp_id == ncpdp_id)
    return uow.session.scalars(query).first()


def prescriber_by_npi(uow: UnitOfWork, npi: str) -> Prescriber | None:
    query = select(Prescriber).where(orm.prescribers.c.npi == npi)
    return uow.session.scalars(query).first()
