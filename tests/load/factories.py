"""Build validated extractions for load tests, without the reader.

Rows are plain dicts with canonical column names; :func:`make_extraction` turns them into
DataFrames typed as the validator leaves them (nullable ``Int64``, ``Float64``, ``datetime64``
with ``NaT``, ``bool``, text), indexed by Excel row number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.extract.source import DeliveryInfo
from pipelines.transform.frame import ValidatedExtraction
from pipelines.transform.report import Report, RowError
from schemas.extraction import ACTIONS, LOTS, ORGANISMES, PROGRAMMES, Sheet

SPECS: dict[str, Sheet] = {
    "programmes": PROGRAMMES,
    "organismes": ORGANISMES,
    "lots": LOTS,
    "actions": ACTIONS,
}
_DTYPES = {"int": "Int64", "number": "Float64", "percent": "Float64", "bool": "bool"}


def siret(of_cr: int, establishment: int = 13) -> str:
    """A 14-digit SIRET for an organisation number (not Luhn-checked: the loader does not)."""
    return f"{of_cr:09d}{establishment:05d}"


def programme(code: str, year: int = 2025, **over: Any) -> dict[str, Any]:
    """A row of the Programmes sheet."""
    return {
        "code_programme": code,
        "libelle_programme": f"PROGRAMME REGION - {code}",
        "annee": year,
        "code_dispositif": None,
        **over,
    }


def organisme(of_cr: int, role: str = "mandataire", **over: Any) -> dict[str, Any]:
    """A row of the Organismes sheet (SIRET from :func:`siret` unless given)."""
    return {
        "of_cr": of_cr,
        "siret": siret(of_cr),
        "raison_sociale": f"Organisme {of_cr}",
        "role": role,
        "numero_activite": None,
        "adresse": "1 rue de la Loire",
        "code_postal": "44000",
        "commune": "Nantes",
        "email": f"contact{of_cr}@example.org",
        "telephone": "02 40 00 00 00",
        **over,
    }


def lot(numero: str, of_mandataire_cr: int, code_programme: str = "PSS", **over: Any) -> dict:
    """A row of the Lots sheet."""
    return {
        "numero_lot": numero,
        "code_programme": code_programme,
        "intitule_lot": f"Lot {numero}",
        "of_mandataire_cr": of_mandataire_cr,
        "territoire": "Loire-Atlantique",
        "formacodes": "44022",
        "forfait_recrutement": False,
        "nb_places": 100,
        "date_debut_prevue": dt.date(2025, 1, 6),
        "date_fin_prevue": None,
        **over,
    }


def action(id_action_cr: int, numero_lot: str, of_mandataire_cr: int, **over: Any) -> dict:
    """A row of the Actions sheet."""
    return {
        "id_action_cr": id_action_cr,
        "numero_lot": numero_lot,
        "of_mandataire_cr": of_mandataire_cr,
        "siret_formateur": siret(of_mandataire_cr),
        "intitule": f"Action {id_action_cr}",
        "code_postal": "44000",
        "commune": "Nantes",
        "nb_places": 10,
        "duree_centre_h": 350.5,
        "duree_entreprise_h": None,
        "date_debut_prevue": dt.date(2025, 2, 3),
        "date_fin_prevue": dt.date(2025, 6, 27),
        "montant_ht": 12000.0,
        "taux_tva": 0.0,
        **over,
    }


def frame(sheet: str, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """A sheet's rows as the validator leaves them (canonical columns and dtypes)."""
    index = pd.RangeIndex(2, len(rows) + 2)  # Excel rows, under the header
    columns = {}
    for column in SPECS[sheet].columns:
        values = [row.get(column.name) for row in rows]
        if column.kind == "date":
            values = pd.to_datetime(values)
        dtype = "datetime64[us]" if column.kind == "date" else _DTYPES.get(column.kind, "str")
        columns[column.name] = pd.Series(values, dtype=dtype, index=index)
    return pd.DataFrame(columns, index=index)


def make_extraction(
    year: int,
    *,
    programmes: Sequence[dict[str, Any]],
    organismes: Sequence[dict[str, Any]],
    lots: Sequence[dict[str, Any]],
    actions: Sequence[dict[str, Any]],
    date: dt.date | None = None,
    rejected_keys: dict[str, set[object]] | None = None,
    errors: Iterable[RowError] = (),
    salt: str = "",
    path: Path | None = None,
) -> ValidatedExtraction:
    """A validated extraction; its SHA-256 follows its content (and ``salt``)."""
    date = date or dt.date(year, 1, 15)
    sheets = {"programmes": programmes, "organismes": organismes, "lots": lots, "actions": actions}
    content = json.dumps({**sheets, "date": date, "salt": salt}, default=str, sort_keys=True)
    name = f"prf_{year}_{date:%Y%m%d}.xlsx"
    info = DeliveryInfo(
        path=path or Path(name),
        file_name=name,
        kind="xlsx",
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        size_bytes=len(content),
        name_year=year,
        delivery_date=date,
    )
    errors = list(errors)
    counts = {
        s: {"accepted": len(rows), "rejected": len({e.row for e in errors if e.sheet == s})}
        for s, rows in sheets.items()
    }
    report = Report(file=name, year=year, errors=errors, counts=counts)
    return ValidatedExtraction(
        info=info,
        year=year,
        frames={s: frame(s, rows) for s, rows in sheets.items()},
        report=report,
        rejected_keys=rejected_keys or {},
    )


def standard(
    year: int = 2025, *, n_lots: int = 5, actions_per_lot: int = 2, **kwargs: Any
) -> ValidatedExtraction:
    """A coherent extraction: 2 programmes, ``n_lots`` lots over 3 mandataires, their actions.

    Lots are ``PSS<year>_<i>`` (odd i) or ``PE<year>_<i>`` (even i); actions ``<year><i><j>``.
    Keyword arguments go to :func:`make_extraction` (``lots=``, ``actions=``... override).
    """
    parts = standard_rows(year, n_lots=n_lots, actions_per_lot=actions_per_lot)
    return make_extraction(year, **{**parts, **kwargs})


def standard_rows(
    year: int = 2025, *, n_lots: int = 5, actions_per_lot: int = 2
) -> dict[str, list[dict[str, Any]]]:
    """The rows of :func:`standard`, to modify before :func:`make_extraction`."""
    mandataires = (101, 102, 103)
    lots = []
    actions = []
    for i in range(1, n_lots + 1):
        code = "PSS" if i % 2 else "PE"
        of_cr = mandataires[i % len(mandataires)]
        numero = f"{code}{year}_{i}"
        lots.append(lot(numero, of_cr, code))
        for j in range(1, actions_per_lot + 1):
            actions.append(action(int(f"{year}{i:03d}{j:02d}"), numero, of_cr))
    organismes = [organisme(m) for m in mandataires] + [organisme(900, "formateur")]
    return {
        "programmes": [programme("PSS", year), programme("PE", year)],
        "organismes": organismes,
        "lots": lots,
        "actions": actions,
    }
