"""Every value variation of the contract's « How it arrives », one assertion each."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.extract.values import (
    BadValue,
    parse_bool,
    parse_codes,
    parse_date,
    parse_enum,
    parse_int,
    parse_key,
    parse_number,
    parse_percent,
    parse_postal,
    parse_siret,
    parse_text,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (5450012300013, "05450012300013"),  # typed as a number: leading zero lost
        (5450012300013.0, "05450012300013"),  # calamine gives floats
        ("5450012300013", "05450012300013"),  # text with fewer than 14 digits
        ("130 005 119 00032", "13000511900032"),  # spaces
        ("130\u00a0005\u00a0119\u00a000032", "13000511900032"),  # non-breaking spaces
        ("130.005.119.00032", "13000511900032"),  # dots
        (" 13000511900032 ", "13000511900032"),
        (None, None),
        ("", None),
    ],
)
def test_siret_is_normalised(cell: object, expected: str | None) -> None:
    assert parse_siret(cell) == expected


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("1.30005E+13", "siret-notation-scientifique"),
        ("1,30005E+13", "siret-notation-scientifique"),
        ("1.30005e13", "siret-notation-scientifique"),
        ("130005119000321", "siret-format"),  # 15 digits
        ("13000511900A32", "siret-format"),  # a letter
        (1.5, "siret-format"),
    ],
)
def test_siret_unrecoverable_is_refused(cell: object, reason: str) -> None:
    with pytest.raises(BadValue) as caught:
        parse_siret(cell)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("cell", "date1904", "expected"),
    [
        (dt.datetime(2025, 3, 1, 0, 0), False, dt.date(2025, 3, 1)),  # a real Excel date
        (dt.date(2025, 3, 1), False, dt.date(2025, 3, 1)),
        (45717.0, False, dt.date(2025, 3, 1)),  # Excel serial, 1900 system
        (44255.0, True, dt.date(2025, 3, 1)),  # the same day, 1904 system
        ("01/03/2025", False, dt.date(2025, 3, 1)),
        ("1/3/2025", False, dt.date(2025, 3, 1)),
        ("2025-03-01", False, dt.date(2025, 3, 1)),
        ("2025-03-01 00:00:00", False, dt.date(2025, 3, 1)),
        ("01/03/25", False, dt.date(2025, 3, 1)),
        ("20250301", False, dt.date(2025, 3, 1)),
        (20250301, False, dt.date(2025, 3, 1)),
        ("00/00/0000", False, None),  # placeholders mean absent
        ("00000000", False, None),
        (0, False, None),
        ("", False, None),
        (None, False, None),
    ],
)
def test_date_forms(cell: object, date1904: bool, expected: dt.date | None) -> None:
    assert parse_date(cell, date1904) == expected


@pytest.mark.parametrize("cell", ["31/02/2025", "2025-13-01", "demain", "32/01/2025", True])
def test_impossible_dates_are_refused(cell: object) -> None:
    with pytest.raises(BadValue) as caught:
        parse_date(cell)
    assert caught.value.reason == "date-invalide"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1 234,50", 1234.5),
        ("1\u00a0234,50", 1234.5),
        ("1\u202f234,5 €", 1234.5),
        ("1.234,50", 1234.5),
        ("1,234.50", 1234.5),
        ("12,5", 12.5),
        ("-3", -3.0),
        (12, 12.0),
        (None, None),
    ],
)
def test_numbers(cell: object, expected: float | None) -> None:
    assert parse_number(cell) == expected


@pytest.mark.parametrize("cell", ["beaucoup", "1,2,3", "12h", dt.date(2025, 1, 1)])
def test_bad_numbers(cell: object) -> None:
    with pytest.raises(BadValue) as caught:
        parse_number(cell)
    assert caught.value.reason == "type-invalide"


def test_int_refuses_decimals_and_takes_thousands() -> None:
    assert parse_int("1 200") == 1200
    assert parse_int(12.0) == 12
    with pytest.raises(BadValue):
        parse_int("12,5")
    with pytest.raises(BadValue):
        parse_int("douze")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("20 %", 20.0), ("5,5%", 5.5), (0.2, 20.0), (0.055, 5.5), (20, 20.0), ("10", 10.0), (0, 0.0)],
)
def test_percent(cell: object, expected: float) -> None:
    assert parse_percent(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("oui", True),
        ("Non", False),
        ("O", True),
        ("n", False),
        ("x", True),
        ("X", True),
        (None, False),
        ("", False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("VRAI", True),
        ("faux", False),
        (True, True),
    ],
)
def test_booleans(cell: object, expected: bool) -> None:
    assert parse_bool(cell) is expected


def test_unknown_boolean_is_refused() -> None:
    with pytest.raises(BadValue) as caught:
        parse_bool("peut-être")
    assert caught.value.reason == "booleen-invalide"


def test_text_is_kept_as_written_but_trimmed() -> None:
    assert parse_text("  L’atelier – Nantes\u00a0 ") == "L’atelier – Nantes"
    assert parse_text("Aide\u00a0soignant") == "Aide soignant"
    assert parse_text("   ") is None
    assert parse_text(12.0) == "12"


def test_keys_roles_codes_and_postal_codes() -> None:
    assert parse_key(" pss2025_10 ") == "PSS2025_10"
    assert parse_enum(" Sous-traitant ") == "formateur"
    assert parse_enum("MANDATAIRE") == "mandataire"
    assert parse_enum("Co\u2013traitant") == "cotraitant"
    assert parse_enum("chef de file") == "chef-de-file"  # kept for the schema to refuse
    assert parse_codes("44022; 15084 / 44004,44022") == "44022;15084;44004"
    assert parse_codes(44022.0) == "44022"
    assert parse_postal(44000.0) == "44000"
    assert parse_postal(1000) == "01000"
    assert parse_postal("4400") == "4400"  # text is not padded: the schema refuses it


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("9h30", "09:30"), ("14:00", "14:00"), ("9h", "09:00"), (0.375, "09:00"), (None, None)],
)
def test_times(cell: object, expected: str | None) -> None:
    from pipelines.extract.values import parse_time

    assert parse_time(cell) == expected


@pytest.mark.parametrize("cell", ["25:00", "midi", "9h75"])
def test_bad_times(cell: object) -> None:
    from pipelines.extract.values import parse_time

    with pytest.raises(BadValue) as caught:
        parse_time(cell)
    assert caught.value.reason == "heure-invalide"


def test_lists() -> None:
    from pipelines.extract.values import parse_list

    assert parse_list("Entretien ; Test\nEntretien") == "Entretien;Test"
    assert parse_list("  ") is None
