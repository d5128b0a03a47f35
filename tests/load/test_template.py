"""The entry template: read back by the entry reader, drop-down lists, notes, pre-filling from
the frame; and the sample entry workbooks of ``data/samples/saisies``."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import Engine

from pipelines.extract.extraction import RawDelivery, describe, locate_sheets, read_extraction
from pipelines.extract.workbook import read_workbook
from pipelines.ingest import Limits, ingest_path
from pipelines.load.db import open_session
from pipelines.load.template import (
    LISTS_SHEET,
    NOTES_SHEET,
    frame_actions_for,
    header_label,
    organisme_for,
    write_template,
)
from pipelines.load.template_fields import HELP, MANDATORY
from pipelines.transform.parse import parse_sheet
from pipelines.transform.validate import validate_extraction
from schemas.entries import ENTRY_SHEETS
from schemas.lists import COLUMN_LISTS, ESP, TAUX_TVA, fold_label

LIMITS = Limits(200 * 2**20, 2**30)
T0 = dt.datetime(2025, 1, 20, 2, 0, tzinfo=dt.UTC)
SAISIES = Path(__file__).resolve().parents[2] / "data" / "samples" / "saisies"
RULE_CODES = {
    "champ-obligatoire",
    "longueur-max",
    "texte-interdit",
    "information-collective-obligatoire",
    "nb-places-dispositif",
    "prise-en-charge-frais",
    "public-demandeur-emploi",
    "codes-externes",
    "forfait-recrutement-date",
    "dates-session",
    "siret",
    "PSS:certifinfo",
    "PSS:intitule",
    "PSS:formacodes",
    "PSS:annee-debut",
    "PSS:esp",
    "PE:certifinfo",
    "PE:type-certification",
    "PE:annee-debut",
    "PE:esp",
    "PE:rythme",
    "PE:type-parcours",
}
REJECT_CODES = {
    "cle-dupliquee",
    "action-inconnue",
    "action-region-inconnue",
    "siret-non-autorise",
    "siret-invalide",
}


def read_back(path: Path) -> RawDelivery:
    """Read a workbook as the entry importer does."""
    info = describe(path, LIMITS.max_bytes)
    return locate_sheets(
        info, read_workbook(path, info.file_name, LIMITS.max_uncompressed), ENTRY_SHEETS
    )


def typed(delivery: RawDelivery, sheet: str) -> pd.DataFrame:
    """The parsed rows of a sheet (no cell may fail to parse)."""
    frame, problems = parse_sheet(delivery.sheets[sheet])
    assert problems == []
    return frame


def ingest_sample(engine: Engine, tmp_path: Path, sample: Callable[[str], Path], name: str) -> None:
    result = ingest_path(
        sample(name), engine=engine, output_dir=tmp_path, limits=LIMITS, threshold=0.5, now=T0
    )
    assert result.status == "integree"


# --------------------------------------------------------------------------- the empty template


def test_empty_template_is_read_back_with_every_column(tmp_path: Path) -> None:
    path = write_template(tmp_path / "saisie_65494103800048_20250301.xlsx")
    delivery = read_back(path)
    assert delivery.warnings == []
    for spec in ENTRY_SHEETS:
        located = delivery.sheets[spec.name]
        assert located.name == spec.title
        assert located.header_row == 1
        assert located.ignored_columns == []
        assert list(located.headers) == [c.name for c in spec.columns]
        assert located.raw.empty


def test_headers_name_the_french_label_mark_mandatory_fields_and_explain(tmp_path: Path) -> None:
    path = write_template(tmp_path / "saisie.xlsx")
    book = openpyxl.load_workbook(path)
    for spec in ENTRY_SHEETS:
        sheet = book[spec.title]
        assert sheet.freeze_panes == "C2"
        headers = [c.value for c in sheet[1]]
        assert headers == [header_label(spec.name, c) for c in spec.columns]
        for cell, column in zip(sheet[1], spec.columns, strict=True):
            assert cell.value.startswith(column.aliases[0])
            assert cell.value.endswith(" *") == (column.name in MANDATORY[spec.name])
            assert cell.comment is not None and HELP[spec.name][column.name] in cell.comment.text
        assert set(spec.keys) <= MANDATORY[spec.name]
    assert book["Sessions"]["G1"].value == "Date début *"
    assert book["Actions"]["A1"].value == "Site dispensateur *"


def test_enumerated_columns_offer_their_list_of_allowed_values(tmp_path: Path) -> None:
    path = write_template(tmp_path / "saisie.xlsx")
    book = openpyxl.load_workbook(path)
    lists = book[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    for (table, column_name), values in COLUMN_LISTS.items():
        spec = next(s for s in ENTRY_SHEETS if s.name == table)
        letter = get_column_letter([c.name for c in spec.columns].index(column_name) + 1)
        validations = [
            dv
            for dv in book[spec.title].data_validations.dataValidation
            if f"{letter}2" in dv.sqref and dv.type == "list"
        ]
        assert len(validations) == 1, (table, column_name)
        validation = validations[0]
        assert validation.formula1 == f"liste_{values.name}"
        assert (validation.errorStyle or "stop") == ("stop" if values.strict else "warning")
        defined = book.defined_names[f"liste_{values.name}"]
        ((sheet_name, cells),) = defined.destinations
        offered = [row[0].value for row in book[sheet_name][cells.replace("$", "")]]
        if values.numeric:
            assert offered == [float(c.code or 0) for c in values.choices]
        else:
            assert offered == list(values.labels)
    assert "entrée/sortie à dates fixes" in ESP.labels
    assert "entrées/sorties cadencées ou séquencées" in ESP.labels
    assert TAUX_TVA.code_of("5,5") == "5.5"
    assert fold_label("Mixte – Modulaire") == fold_label("mixte - modulaire")


def test_notes_sheet_explains_how_to_fill_the_workbook(tmp_path: Path) -> None:
    organisme = {"siret": "65494103800048", "raison_sociale": "GRETA-CFA Loire-Atlantique"}
    path = write_template(tmp_path / "saisie.xlsx", organisme=organisme)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == NOTES_SHEET
    text = "\n".join(str(c.value) for row in book[NOTES_SHEET].iter_rows() for c in row if c.value)
    for words in (
        "GRETA-CFA Loire-Atlantique",
        "Référence formation",
        "ne change plus",
        "ID Action CR",
        "Numéro lot CR",
        "Nb places dispositif",
        "le mandataire du lot",
        "forfait recrutement",
        "Formation aide-soignant – Module préparatoire",
        "93561",
        "en attente de validation",
        "saisie_<SIRET>_<aaaammjj>.xlsx",
    ):
        assert words in text, words


# --------------------------------------------------------------------------- pre-filled


def _expected_actions(sample: Callable[[str], Path], siret: str) -> set[int]:
    """The frame's actions an establishment has to describe, computed from the extraction."""
    frames = validate_extraction(
        read_extraction(
            sample("prf_2025_20250115.xlsx"),
            max_bytes=LIMITS.max_bytes,
            max_uncompressed=LIMITS.max_uncompressed,
        )
    ).frames
    organismes, actions = frames["organismes"], frames["actions"]
    of_crs = set(organismes.loc[organismes["siret"] == siret, "of_cr"])
    mine = (actions["siret_formateur"] == siret) | actions["of_mandataire_cr"].isin(of_crs)
    return {int(i) for i in actions.loc[mine, "id_action_cr"]}


@pytest.mark.parametrize(
    "siret",
    [
        pytest.param("65494103800048", id="mandataire"),
        pytest.param("02940916600039", id="formateur"),
    ],
)
def test_prefilled_template_has_one_row_per_frame_action(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path], siret: str
) -> None:
    ingest_sample(engine, tmp_path, sample, "prf_2025_20250115.xlsx")
    with open_session(engine) as db:
        actions = frame_actions_for(db, siret)
        organisme = organisme_for(db, siret)
    expected = _expected_actions(sample, siret)
    assert {a["id_action_cr"] for a in actions} == expected and len(actions) == len(expected)
    path = write_template(
        tmp_path / f"saisie_{siret}_20250301.xlsx", actions=actions, organisme=organisme
    )
    delivery = read_back(path)
    formations, rows, sessions = (typed(delivery, s) for s in ("formations", "actions", "sessions"))
    assert sorted(rows["id_action_cr"]) == sorted(expected)
    assert len(formations) == len(sessions) == len(rows)
    assert delivery.sheets["informations_collectives"].raw.empty
    by_id = {a["id_action_cr"]: a for a in actions}
    for (_, action), (_, formation), (_, session) in zip(
        rows.iterrows(), formations.iterrows(), sessions.iterrows(), strict=True
    ):
        frame = by_id[action["id_action_cr"]]
        assert action["ref_action"] == f"A-{frame['id_action_cr']}"
        assert action["ref_formation"] == formation["ref_formation"] == f"F-{frame['id_action_cr']}"
        assert session["ref_action"] == action["ref_action"]
        assert session["ref_session"] == f"S-{frame['id_action_cr']}-1"
        assert action["siret"] == formation["siret"] == session["siret"] == frame["siret_formateur"]
        assert action["numero_lot"] == frame["numero_lot"]
        assert action["of_mandataire_cr"] == frame["of_mandataire_cr"]
        assert action["nb_places_dispositif"] == frame["nb_places"]
        assert session["date_debut"] == pd.Timestamp(frame["date_debut_prevue"]) or (
            pd.isna(session["date_debut"]) and frame["date_debut_prevue"] is None
        )
        assert session["organisme_responsable"] == frame["siret_mandataire"]
        assert formation["intitule_formation"] == frame["intitule"]


def test_withdrawn_actions_are_not_offered(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    ingest_sample(engine, tmp_path, sample, "prf_2025_20250115.xlsx")
    with open_session(engine) as db:
        before = {a["numero_lot"] for a in frame_actions_for(db, "18001122300039")}
    ingest_path(
        sample("prf_2025_20250301.xlsx"),
        engine=engine,
        output_dir=tmp_path,
        limits=LIMITS,
        threshold=0.5,
        now=T0 + dt.timedelta(days=40),
    )
    with open_session(engine) as db:
        after = {a["numero_lot"] for a in frame_actions_for(db, "18001122300039")}
        assert frame_actions_for(db, "18001122300039", annee=2024) == []
        assert organisme_for(db, "00000000000000") is None
    assert "1E1F2025_18" in before and after == before - {"1E1F2025_18"}


# --------------------------------------------------------------------------- the samples


def _expected_rows() -> list[dict[str, Any]]:
    with (SAISIES / "expected.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _samples() -> list[Path]:
    return sorted(SAISIES.glob("saisie_*.xlsx"))


def test_sample_entry_workbooks_are_read_back_without_header_problems() -> None:
    assert len(_samples()) == 4
    programmes: dict[str, int] = {}
    for path in _samples():
        delivery = read_back(path)
        assert delivery.warnings == []
        for spec in ENTRY_SHEETS:
            located = delivery.sheets[spec.name]
            assert located.ignored_columns == [] and len(located.headers) == len(spec.columns)
            typed(delivery, spec.name)
        for lot in delivery.sheets["actions"].raw["numero_lot"]:
            code = str(lot).split("2025")[0]
            programmes[code] = programmes.get(code, 0) + 1
    assert sum(programmes.values()) >= 40
    assert {"PSS", "PE"} <= set(programmes) and {"1E1F", "PAS", "PCA"} & set(programmes)


def test_expected_csv_covers_every_rule_once_and_the_structural_rejects() -> None:
    rows = _expected_rows()
    rules = [r["code"] for r in rows if r["severity"] != "rejet"]
    assert sorted(rules) == sorted(RULE_CODES)
    assert {r["code"] for r in rows if r["severity"] == "rejet"} == REJECT_CODES
    warnings = {r["code"] for r in rows if r["severity"] == "avertissement"}
    # what the frame or the store replaces is flagged, never blocking
    assert warnings == {"nb-places-dispositif", "codes-externes", "siret"}
    assert {r["file"] for r in rows} == {p.name for p in _samples()}


def test_expected_rows_point_at_the_intended_records() -> None:
    deliveries = {path.name: read_back(path) for path in _samples()}
    typed_sheets = {
        (name, spec.name): typed(d, spec.name)
        for name, d in deliveries.items()
        for spec in ENTRY_SHEETS
    }
    ref_of = {"formations": "ref_formation", "actions": "ref_action", "sessions": "ref_session"}
    by_code: dict[str, tuple[pd.Series, pd.DataFrame, dict[str, Any]]] = {}
    for expected in _expected_rows():
        frame = typed_sheets[(expected["file"], expected["sheet"])]
        record = frame.loc[int(expected["row"])]
        assert record[ref_of[expected["sheet"]]] == expected["reference"], expected
        by_code.setdefault(expected["code"], (record, frame, expected))

    def record(code: str) -> pd.Series:
        return by_code[code][0]

    assert fold_label(record("PSS:esp")["esp"]) == fold_label("entrée/sortie permanente")
    assert record("PE:rythme")["rythme"] == "temps partiel"
    assert record("PE:type-parcours")["type_parcours"] == "individualisé"
    assert record("dates-session")["date_fin"] < record("dates-session")["date_debut"]
    assert record("PSS:annee-debut")["date_debut"].year == 2026
    assert record("PE:certifinfo")["code_certifinfo"] == "93560"
    assert record("PSS:certifinfo")["certifiante"]
    assert pd.isna(record("champ-obligatoire")["modalites_pedagogiques"])
    assert not record("prise-en-charge-frais")["prise_en_charge_frais"]
    assert record("public-demandeur-emploi")["public"] == "salarié"
    assert len(record("longueur-max")["objectifs"]) > 3000
    assert "<table>" in record("texte-interdit")["objectifs"]
    assert record("action-region-inconnue")["id_action_cr"] == 144199
    _, _, ic_row = by_code["information-collective-obligatoire"]
    ics = typed_sheets[(ic_row["file"], "informations_collectives")]
    assert ic_row["reference"] not in set(ics["ref_session"])
    duplicated = [e for e in _expected_rows() if e["code"] == "cle-dupliquee"]
    assert len(duplicated) == 2 and len({e["reference"] for e in duplicated}) == 1


def test_generator_gives_the_committed_expectations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(SAISIES.parent))  # as when run as a script
    spec = importlib.util.spec_from_file_location(
        "make_entries", SAISIES.parent / "make_entries.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_entries", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main()
    for name in ("expected.csv", "README.md"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (SAISIES / name).read_text(
            encoding="utf-8"
        ), name
    assert sorted(p.name for p in tmp_path.glob("saisie_*.xlsx")) == [p.name for p in _samples()]
