"""Products of a program (issue 17 item 7; R24's units per day): `[[products]]` blocks, each a
package NDC with its RxNorm codes, strength and daily units, effective-dated so that a product can
move from one program to another on a date.

NDCs are kept in the 11-digit 5-4-2 form (HIPAA's billing form, digits only). The FDA's 10-digit
NDCs (4-4-2, 5-3-2, 5-4-1, hyphenated) become 11 digits by a leading zero in the short segment:
4-4-2 -> 0XXXX-XXXX-XX, 5-3-2 -> XXXXX-0XXX-XX, 5-4-1 -> XXXXX-XXXX-0X. Ten digits without hyphens
are refused: which segment to pad cannot be told. Pure data: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from workflows import bounds

if TYPE_CHECKING:
    from workflows.program import Program

_PAD = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}  # 10-digit shape -> the segment padded with a 0
_FIELDS = {"ndc", "rxnorm", "name", "strength", "units_per_day", "effective_from", "until"}
_MAX_UNITS = bounds.BOUNDS["max_units_per_day"]  # T4: a product may not exceed R24's bound either
NDC_FORMS = "an NDC: 11 digits, or hyphenated 5-4-2, 4-4-2, 5-3-2 or 5-4-1"


def ndc11(code: str) -> str | None:
    """An NDC in its 11-digit form, or None: 11 plain digits, 5-4-2, or a 10-digit 4-4-2/5-3-2/5-4-1."""
    code = code.strip()
    if re.fullmatch(r"\d{11}", code):
        return code
    parts = code.split("-")
    if len(parts) != 3 or not all(re.fullmatch(r"\d+", p) for p in parts):
        return None
    shape = tuple(len(p) for p in parts)
    if shape == (5, 4, 2):
        return "".join(parts)
    if shape in _PAD:
        parts[_PAD[shape]] = "0" + parts[_PAD[shape]]
        return "".join(parts)
    return None


@dataclass(frozen=True)
class Product:
    ndc: str  # 11 digits
    rxnorm: tuple[str, ...]
    name: str
    strength: str
    units_per_day: int | None  # R24: replaces max_units_per_day for a prescription of this product
    effective_from: date | None = None  # in the program from this date (program's zone); None: always
    until: date | None = None  # out of the program from this date

    def on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and \
            (self.until is None or day < self.until)

    def overlaps(self, other: Product) -> bool:
        return (self.effective_from is None or other.until is None or self.effective_from < other.until) and \
            (other.effective_from is None or self.until is None or other.effective_from < self.until)


def _refuse(source: str, field: str, reason: str) -> NoReturn:
    from workflows.program import ProgramError  # program.py imports this module: import when needed
    raise ProgramError(source, field, reason)


def _date(source: str, field: str, value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        _refuse(source, field, "must be a date (YYYY-MM-DD)")
    return value


def _text(source: str, field: str, value: Any, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        _refuse(source, field, "required text")
    return value.strip()


def _product(source: str, where: str, block: Any) -> Product:
    if not isinstance(block, dict):
        _refuse(source, where.rstrip("."), "must be a [[products]] table")
    unknown = sorted(set(block) - _FIELDS)
    if unknown:
        _refuse(source, where + unknown[0], "unknown field")
    raw_ndc = block.get("ndc")
    ndc = ndc11(raw_ndc) if isinstance(raw_ndc, str) else None
    if ndc is None:
        _refuse(source, where + "ndc", f"must be {NDC_FORMS}")
    rxnorm = block.get("rxnorm", [])
    if not isinstance(rxnorm, list) or not all(isinstance(c, str) and re.fullmatch(r"\d{1,10}", c)
                                               for c in rxnorm):
        _refuse(source, where + "rxnorm", "must be a list of RxNorm codes (digits, as text)")
    units = block.get("units_per_day")
    if units is not None and (isinstance(units, bool) or not isinstance(units, int)
                              or not 0 < units <= _MAX_UNITS.high):
        _refuse(source, where + "units_per_day",
                f"must be a whole number from 1 to {_MAX_UNITS.high} ({_MAX_UNITS.rule}: {_MAX_UNITS.why})")
    start = _date(source, where + "effective_from", block.get("effective_from"))
    until = _date(source, where + "until", block.get("until"))
    if start is not None and until is not None and until <= start:
        _refuse(source, where + "until", "must be later than effective_from")
    return Product(ndc, tuple(rxnorm), _text(source, where + "name", block.get("name"), True),
                   _text(source, where + "strength", block.get("strength"), False), units, start, until)


def parse_products(source: str, raw: Any) -> tuple[Product, ...]:
    """The `[[products]]` blocks of a program file; an NDC listed twice on overlapping dates is refused."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        _refuse(source, "products", "must be [[products]] blocks")
    products: list[Product] = []
    for index, block in enumerate(raw):
        product = _product(source, f"products[{index}].", block)
        twin = next((i for i, p in enumerate(products) if p.ndc == product.ndc and p.overlaps(product)), None)
        if twin is not None:
            _refuse(source, f"products[{index}].ndc",
                    f"NDC {product.ndc} is also products[{twin}] on overlapping dates")
        products.append(product)
    return tuple(products)


def _claims(program: Program) -> Iterable[tuple[str, str, Product | None]]:
    """(kind, code, product) of every code a program answers for; product None = the fallback list."""
    for product in program.products:
        yield "ndc", product.ndc, product
        for code in product.rxnorm:
            yield "rxnorm", code, product
    for code in program.rxnorm:
        yield "rxnorm", code, None


def _same_days(a: Product | None, b: Product | None) -> bool:
    """Two claims of one code at once: both products on overlapping dates, or both fallback lists
    (undated); a product's claim takes precedence over another program's fallback list."""
    if a is None or b is None:
        return a is None and b is None
    return a.overlaps(b)


def check_product_overlaps(programs: dict[str, Program]) -> dict[str, Program]:
    """The programs as loaded, once no two claim the same NDC or RxNorm code on the same date
    (issue 17 item 7): a medication code finds at most one program on any day."""
    seen: dict[tuple[str, str], list[tuple[Program, Product | None]]] = {}
    for program in programs.values():
        for kind, code, product in _claims(program):
            for other, theirs in seen.get((kind, code), []):
                if other.id != program.id and _same_days(product, theirs):
                    field = f"products[{program.products.index(product)}].{kind}" if product else kind
                    _refuse(program.id, field, f"{kind} {code} is also claimed by program {other.id} "
                                               "on the same dates: a code routes to one program")
            seen.setdefault((kind, code), []).append((program, product))
    return programs


def product_on(program: Program, ndc: str, on: date) -> Product | None:
    """The program's product of this NDC (any accepted form) in force on `on` (program's calendar)."""
    code = ndc11(ndc)
    return next((p for p in program.products if p.ndc == code and p.on(on)), None)
