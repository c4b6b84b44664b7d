"""Products routed by NDC (issue 17 item 7): the FDA's NDC forms, [[products]] validation, a product
that moves between programs on a date, two programs claiming one code refused at load, and R24's
units a day from the product."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from rems.bootstrap import bootstrap
from rems.domain.model import Prescription
from rems.domain.prescribing import product_units, supply_requirements
from rems.domain.schedule import Today
from rems.interop.codes import NDC, RXNORM, program_for_medication
from rems.settings import Settings
from workflows.products import check_product_overlaps, ndc11, parse_products
from workflows.program import PROGRAM_DIR, Program, ProgramError, load_programs, parse_program

TEXT = (PROGRAM_DIR / "pomalidomide.toml").read_text(encoding="utf-8")
# the program without its products (nor its forms, whose ids carry the program's)
BASE = "".join(line for line in TEXT[:TEXT.index("\n[[products]]")].splitlines(keepends=True)
               if not line.startswith("questionnaires ="))


# The FDA's 10-digit NDC shapes and the 11-digit (5-4-2) form of each: a leading zero in the short
# segment (FDA, "National Drug Code Database Background Information"; HIPAA's 11-digit form).
@pytest.mark.parametrize(("given", "expected"), [
    ("1234-5678-90", "01234567890"),   # 4-4-2 -> 0XXXX-XXXX-XX
    ("12345-678-90", "12345067890"),   # 5-3-2 -> XXXXX-0XXX-XX
    ("12345-6789-0", "12345678900"),   # 5-4-1 -> XXXXX-XXXX-0X
    ("12345-6789-01", "12345678901"),  # already 5-4-2
    ("12345678901", "12345678901"),    # 11 digits
    (" 59572-501-21 ", "59572050121"),  # POMALYST 1 mg, bottle of 21, as labelled
    ("1234567890", None),              # 10 digits, no hyphens: which segment to pad is unknown
    ("123-45678-90", None), ("12345-67-890", None), ("1234-567-89", None),  # no FDA shape
    ("12345-6789-0a", None), ("12345_6789_01", None), ("", None), ("123456789012", None),
])
def test_ndc_normalised_to_eleven_digits_by_the_fda_padding(given: str, expected: str | None) -> None:
    assert ndc11(given) == expected


def refused(raw: object) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        parse_products("p.toml", raw)
    return caught.value


def block(**fields: object) -> dict[str, object]:
    return {"ndc": "59572-501-21", "name": "POMALYST 1 mg", "units_per_day": 1, **fields}


@pytest.mark.parametrize(("raw", "field"), [
    ([block(ndc="5957250121")], "products[0].ndc"),           # 10 digits without hyphens
    ([block(ndc=59572050121)], "products[0].ndc"),            # a number, not text
    ([block(units_per_day=0)], "products[0].units_per_day"),  # must be > 0
    ([block(units_per_day=-1)], "products[0].units_per_day"),
    ([block(units_per_day=9)], "products[0].units_per_day"),  # T4: above R24's bound (8)
    ([block(units_per_day=True)], "products[0].units_per_day"),
    ([block(units_per_day=1.5)], "products[0].units_per_day"),
    ([block(effective_from=date(2026, 3, 1), until=date(2026, 3, 1))], "products[0].until"),
    ([block(effective_from=date(2026, 3, 2), until=date(2026, 3, 1))], "products[0].until"),
    ([block(until="2026-03-01")], "products[0].until"),
    ([block(rxnorm="1369713")], "products[0].rxnorm"),
    ([block(rxnorm=["POM"])], "products[0].rxnorm"),
    ([block(name="")], "products[0].name"),
    ([block(colour="blue")], "products[0].colour"),
    ([block(), block(ndc="59572-0501-21")], "products[1].ndc"),  # the same NDC twice, undated
    ([block(until=date(2026, 3, 2)), block(effective_from=date(2026, 3, 1))], "products[1].ndc"),
    ({"ndc": "59572-501-21"}, "products"),
])
def test_a_bad_product_is_refused_naming_its_field(raw: object, field: str) -> None:
    assert refused(raw).field == field


def test_one_ndc_may_be_listed_again_on_dates_that_do_not_overlap() -> None:
    products = parse_products("p.toml", [block(until=date(2026, 3, 1), units_per_day=1),
                                         block(effective_from=date(2026, 3, 1), units_per_day=2)])
    assert [p.units_per_day for p in products] == [1, 2]


def test_the_program_files_list_their_products_with_eleven_digit_ndcs() -> None:
    programs = load_programs()
    listed = {p.id: len(p.products) for p in programs.values() if p.products}
    assert listed == {"pomalidomide": 8, "lenalidomide": 5, "thalidomide": 4}  # others route by RxNorm
    assert all(len(p.ndc) == 11 and p.ndc.isdigit() for prog in programs.values() for p in prog.products)


def program(pid: str, products: str, rxnorm: str = '["1369713"]') -> Program:
    text = BASE.replace('id = "pomalidomide"', f'id = "{pid}"').replace('rxnorm = ["1369713"]', f"rxnorm = {rxnorm}")
    return parse_program(text + products, f"{pid}.toml")


MOVE = date(2026, 6, 1)  # the product leaves "old" and joins "new" on this date (programs' zone)
OLD = program("old", '\n[[products]]\nndc = "12345-678-90"\nrxnorm = ["999001"]\nname = "X 1 mg"\n'
                     'units_per_day = 1\nuntil = 2026-06-01\n', rxnorm='["111"]')
NEW = program("new", '\n[[products]]\nndc = "12345-0678-90"\nrxnorm = ["999001"]\nname = "X 1 mg"\n'
                     'units_per_day = 2\neffective_from = 2026-06-01\n', rxnorm='["222"]')


def routed(system: str, code: str, on: date | datetime) -> str | None:
    found = program_for_medication(system, code, [OLD, NEW], on)
    return found.id if found else None


def test_a_product_that_moves_routes_to_the_old_program_before_the_date_and_the_new_one_from_it() -> None:
    assert [routed(NDC, "12345-678-90", d) for d in (date(2026, 5, 31), MOVE, date(2026, 12, 1))] == [
        "old", "new", "new"]
    assert [routed(RXNORM, "999001", d) for d in (date(2026, 5, 31), MOVE)] == ["old", "new"]


def test_the_move_happens_at_midnight_in_the_programs_zone() -> None:
    """T1: 2026-06-01 03:59 UTC is still 31 May in New York (EDT, UTC-4); 04:00 UTC is 1 June."""
    assert routed(NDC, "12345067890", datetime(2026, 6, 1, 3, 59, tzinfo=UTC)) == "old"
    assert routed(NDC, "12345067890", datetime(2026, 6, 1, 4, 0, tzinfo=UTC)) == "new"


def test_an_rxnorm_code_no_product_claims_falls_back_to_the_programs_lists() -> None:
    assert (routed(RXNORM, "111", MOVE), routed(RXNORM, "222", MOVE), routed(RXNORM, "333", MOVE)) == (
        "old", "new", None)
    assert routed(NDC, "111", MOVE) is None  # the fallback lists are RxNorm codes, never NDCs
    assert routed("http://snomed.info/sct", "999001", MOVE) is None


def test_two_programs_claiming_one_ndc_on_the_same_date_are_refused_at_load() -> None:
    twin = program("twin", '\n[[products]]\nndc = "12345-678-90"\nname = "X 1 mg"\neffective_from = 2026-05-01\n'
                           'until = 2026-05-02\n', rxnorm='["333"]')
    with pytest.raises(ProgramError) as caught:
        check_product_overlaps({"old": OLD, "new": NEW, "twin": twin})
    assert (caught.value.source, caught.value.field) == ("twin", "products[0].ndc")
    assert check_product_overlaps({"old": OLD, "new": NEW}) == {"old": OLD, "new": NEW}


def test_two_programs_claiming_one_rxnorm_code_are_refused_at_load() -> None:
    product = program("p", '\n[[products]]\nndc = "11111-111-11"\nrxnorm = ["999001"]\nname = "Y"\n',
                      rxnorm='["444"]')
    fallback = program("f", "", rxnorm='["111"]')
    for clash, field in (({"old": OLD, "p": product}, "products[0].rxnorm"), ({"old": OLD, "f": fallback}, "rxnorm")):
        with pytest.raises(ProgramError) as caught:
            check_product_overlaps(clash)
        assert caught.value.field == field


def test_bootstrap_refuses_a_program_directory_where_two_programs_claim_one_ndc(tmp_path: Path) -> None:
    directory = tmp_path / "programs"
    directory.mkdir()
    for name in ("pomalidomide", "lenalidomide"):
        (directory / f"{name}.toml").write_text((PROGRAM_DIR / f"{name}.toml").read_text(encoding="utf-8")
                                                + '\n[[products]]\nndc = "99999-999-99"\nname = "Both"\n',
                                                encoding="utf-8")
    with pytest.raises(ProgramError, match="99999099999 is also claimed"):
        bootstrap(Settings(env="test", database_url=f"sqlite:///{tmp_path}/r.db", program_dir=directory))


def rx(quantity: int, ndc: str | None) -> Prescription:
    return Prescription(id="rx_1", program_id="new", patient_id="pat_1", prescriber_id="prs_1",
                        category="adult_male", days_supply=28, quantity=quantity, refills=0,
                        contraception_counselling_attested=False, requested_at=datetime(2026, 6, 2, tzinfo=UTC),
                        ndc=ndc)


def quantity_met(r: Prescription, units: int | None) -> bool:
    today = Today(NEW.at(MOVE), NEW.time_zone, "adult_male", datetime(2026, 6, 2, 12, tzinfo=UTC))
    return next(q.met for q in supply_requirements(r, today, units) if q.code == "R24_QUANTITY_EXCEEDS_DAYS")


def test_r24_counts_the_products_units_a_day_when_it_declares_them() -> None:
    """R24: NEW's product declares 2 a day (28 days -> 56); the program's parameter says 1 (-> 28)."""
    now = datetime(2026, 6, 2, 12, tzinfo=UTC)
    units = product_units(NEW, rx(56, "12345067890"), now)
    assert units == 2
    assert (quantity_met(rx(56, "12345067890"), units), quantity_met(rx(57, "12345067890"), units)) == (True, False)
    assert product_units(NEW, rx(28, None), now) is None  # no product named: the parameter (1 a day)
    assert (quantity_met(rx(28, None), None), quantity_met(rx(29, None), None)) == (True, False)
    assert product_units(NEW, rx(56, "12345067890"), datetime(2026, 5, 1, tzinfo=UTC)) is None  # not yet NEW's
