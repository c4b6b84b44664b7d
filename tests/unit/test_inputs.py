"""The input forms every interface shares (rems/domain/inputs.py): plain text, the NPI check digit
(R1: Luhn over 80840 and the first nine digits) and the 7-digit NCPDP provider id (R25)."""

from __future__ import annotations

import pytest

from rems.domain.inputs import control_character, ncpdp_id, npi, npi_check_digit, plain


@pytest.mark.parametrize("value", ["\x00", "a\tb", "a\nb", "\r", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\ud800"])
def test_control_characters_and_lone_surrogates_are_not_plain(value: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        plain(value)


@pytest.mark.parametrize("value", ["", "Zoë O'Brien-Łukasz", "王秀英", "محمد‌علی", "😀", "a b", "\xa0"])
def test_names_people_have_are_plain(value: str) -> None:
    assert plain(value) == value


def test_free_text_may_hold_tab_cr_and_lf_but_nothing_else() -> None:
    assert control_character("Take 1\r\n\tdaily", free_text=True) is None
    assert control_character("a\x00", free_text=True) == "U+0000 at position 1"
    assert control_character("\x0b", free_text=True) == "U+000B at position 0"


@pytest.mark.parametrize("valid", ["1234567893", "1000000004", "1999999992", "1245319599"])
def test_npis_with_their_check_digit_are_valid(valid: str) -> None:
    assert npi(valid) == valid
    assert npi_check_digit(valid[:9]) == valid[9]


@pytest.mark.parametrize(("invalid", "why"), [("1234567890", "check digit should be 3"),
                                              ("1234567894", "check digit"), ("123456789", "10-digit"),
                                              ("12345678901", "10-digit"), ("12345678a3", "10-digit"),
                                              ("١٢٣٤٥٦٧٨٩٣", "10-digit")])
def test_npis_failing_their_form_or_check_digit_are_refused(invalid: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        npi(invalid)


def test_every_single_digit_error_is_caught() -> None:
    """Luhn catches any one wrong digit: the reason the NPI carries it."""
    for position in range(10):
        for digit in "0123456789":
            changed = "1234567893"[:position] + digit + "1234567893"[position + 1:]
            if changed != "1234567893":
                with pytest.raises(ValueError):
                    npi(changed)


def test_an_ncpdp_provider_id_has_seven_digits() -> None:
    assert ncpdp_id("1234567") == "1234567"
    for bad in ("123456", "12345678", "12a4567", "", "١٢٣٤٥٦٧"):
        with pytest.raises(ValueError, match="7-digit"):
            ncpdp_id(bad)
