"""The floor of each stage: the same work on the same data with the raw libraries alone.

What no pipeline can beat on this machine, so each stage is reported as a ratio to it:

* **read**: fastexcel (calamine, Rust) → Arrow → pandas, every sheet of the workbook;
* **validate**: the extraction's rules (``schemas.extraction``: required cells, integers and
  their bounds, SIRET keys, formats, enumerations, unique keys, dates in order, references
  between sheets) as vectorised pandas checks, no report built;
* **bulk load**: the same rows into plain tables of as many columns (the sheet's key as
  primary key for the extraction), in one transaction: PostgreSQL ``COPY … FROM STDIN``
  (CSV written by pandas), SQLite ``executemany``;
* **approve**: two set-based statements on the same store (one ``INSERT … SELECT`` of the
  transitions, one ``UPDATE`` of the states);
* **publish**: every ``<formation>`` of the same LHEO document written with lxml's
  ``etree.xmlfile`` and validated alone against the XSD (the elements come from parsing the
  pipeline's own ``lheo.xml``; only writing and validating are timed, not that parse).

The floor of the nightly is the sum of its parts' floors (added by ``benchmarks.bench``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.stages import Context

LHEO_NS = "http://lheo.gouv.fr/2.3"
XSD = Path(__file__).resolve().parents[1] / "schemas" / "lheo" / "lheo.xsd"


# --- read ------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    """A header compared ignoring case, accents, blanks and the mandatory mark « * »."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("*", "")).strip()


def read_workbook_fast(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook, by name, through fastexcel (texts kept as texts)."""
    import fastexcel

    reader = fastexcel.read_excel(path)
    return {name: reader.load_sheet_by_name(name).to_pandas() for name in reader.sheet_names}


def canonical_extraction(sheets: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The extraction's sheets under their canonical names, columns renamed by their aliases."""
    from schemas.extraction import SHEETS

    by_title = {_norm(name): df for name, df in sheets.items()}
    frames = {}
    for sheet in SHEETS:
        df = by_title[_norm(sheet.title)]
        rename = {}
        for header in df.columns:
            for column in sheet.columns:
                if _norm(header) in {_norm(a) for a in (column.name, *column.aliases)}:
                    rename[header] = column.name
                    break
        frames[sheet.name] = df[list(rename)].rename(columns=rename)
    return frames


# --- validate --------------------------------------------------------------------------------


def siret_ok(values: pd.Series) -> np.ndarray:
    """SIRET keys, vectorised: 14 digits and Luhn (or La Poste's rule for ``356000000``)."""
    text = values.astype("string").fillna("")
    shaped = text.str.fullmatch(r"\d{14}").fillna(False).to_numpy(dtype=bool)
    ok = np.zeros(len(text), dtype=bool)
    if shaped.any():
        good = text[shaped].to_numpy(dtype=str)
        digits = np.frombuffer("".join(good).encode("ascii"), dtype=np.uint8).reshape(-1, 14) - 48
        doubled = digits.astype(np.int16)
        doubled[:, 0::2] *= 2
        doubled[doubled > 9] -= 9
        luhn = doubled.sum(axis=1) % 10 == 0
        poste = (np.char.startswith(good, "356000000")) & (digits.sum(axis=1) % 5 == 0)
        ok[shaped] = luhn | poste
    return ok


def _int_ok(s: pd.Series, low: int, high: int = 2**31 - 1) -> pd.Series:
    numbers = pd.to_numeric(s, errors="coerce")
    return numbers.notna() & (numbers == np.floor(numbers)) & numbers.between(low, high)


def _fmt_ok(s: pd.Series, pattern: str, nullable: bool = True) -> pd.Series:
    text = s.astype("string")
    matched = text.str.fullmatch(pattern).fillna(False).astype(bool)
    return matched | text.isna() if nullable else matched


def _dates_ok(df: pd.DataFrame) -> pd.Series:
    debut = pd.to_datetime(df["date_debut_prevue"], errors="coerce")
    fin = pd.to_datetime(df["date_fin_prevue"], errors="coerce")
    return debut.isna() | fin.isna() | (fin >= debut)


def _required(df: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for column in columns:
        ok &= df[column].notna() & (df[column].astype("string").str.strip() != "")
    return ok


def check_extraction(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """The extraction's rules, vectorised; return the rows failing some rule, per sheet."""
    from schemas import extraction as rules

    postal, nda = r"\d{5}", r"\d{11}"
    p, o, lots, a = (frames[k] for k in ("programmes", "organismes", "lots", "actions"))
    ok_p = (
        _required(p, ["code_programme", "libelle_programme"])
        & ~p["code_programme"].duplicated(keep=False)
        & _int_ok(p["annee"], 2000, 2100)
    )
    ok_o = (
        _required(o, ["siret", "raison_sociale", "role"])
        & _int_ok(o["of_cr"], 1)
        & siret_ok(o["siret"])
        & o["role"]
        .astype("string")
        .str.strip()
        .str.lower()
        .replace(rules.ROLE_ALIASES)
        .isin(rules.ROLES)
        & _fmt_ok(o["numero_activite"], nda)
        & _fmt_ok(o["code_postal"], postal)
        & ~o.duplicated(["of_cr", "siret"], keep=False)
    )
    of_known = pd.Index(o.loc[ok_o, "of_cr"].unique())
    sirets = pd.Index(o.loc[ok_o, "siret"].unique())
    ok_l = (
        _required(lots, ["numero_lot", "code_programme", "intitule_lot"])
        & _fmt_ok(lots["numero_lot"], rules.RE_NUMERO_LOT, nullable=False)
        & ~lots["numero_lot"].duplicated(keep=False)
        & lots["code_programme"].isin(p.loc[ok_p, "code_programme"])
        & (lots["intitule_lot"].astype("string").str.len() <= rules.MAX_INTITULE)
        & _int_ok(lots["of_mandataire_cr"], 1)
        & lots["of_mandataire_cr"].isin(of_known)
        & _fmt_ok(lots["formacodes"], rules.RE_FORMACODES)
        & lots["forfait_recrutement"].astype("string").str.lower().isin(["oui", "non"])
        & _int_ok(lots["nb_places"], 0)
        & _dates_ok(lots)
    )
    tva = pd.to_numeric(a["taux_tva"], errors="coerce")
    ok_a = (
        _required(a, ["numero_lot", "siret_formateur", "intitule", "code_postal", "commune"])
        & _int_ok(a["id_action_cr"], 1)
        & ~a["id_action_cr"].duplicated(keep=False)
        & a["numero_lot"].isin(lots.loc[ok_l, "numero_lot"])
        & _int_ok(a["of_mandataire_cr"], 1)
        & siret_ok(a["siret_formateur"])
        & a["siret_formateur"].isin(sirets)
        & (a["intitule"].astype("string").str.len() <= rules.MAX_INTITULE)
        & _fmt_ok(a["code_postal"], postal, nullable=False)
        & _int_ok(a["nb_places"], 1)
        & (pd.to_numeric(a["duree_centre_h"], errors="coerce").fillna(0) >= 0)
        & (pd.to_numeric(a["duree_entreprise_h"], errors="coerce").fillna(0) >= 0)
        & (pd.to_numeric(a["montant_ht"], errors="coerce").fillna(0) >= 0)
        & (tva.isna() | tva.isin(rules.TAUX_TVA))
        & _dates_ok(a)
    )
    oks = {"programmes": ok_p, "organismes": ok_o, "lots": ok_l, "actions": ok_a}
    return {name: int((~ok).sum()) for name, ok in oks.items()}


# --- bulk load -------------------------------------------------------------------------------


def _for_db(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text, missing values as ``None`` (what both drivers take)."""
    out = df.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return out.astype(object).where(out.notna(), None)


def bulk_load(url: str, tables: dict[str, pd.DataFrame], keys: dict[str, tuple[str, ...]]) -> int:
    """Create plain tables and load every row in one transaction; return the rows loaded.

    PostgreSQL: ``COPY … FROM STDIN (FORMAT csv)``; SQLite: ``executemany`` per table.
    """
    from sqlalchemy import create_engine

    from pipelines.load.db import normalise_url

    engine = create_engine(normalise_url(url))
    postgres = engine.dialect.name == "postgresql"
    rows = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name, df in tables.items():
            columns = [f"c{i}" for i in range(len(df.columns))]
            key = [columns[list(df.columns).index(k)] for k in keys.get(name, ())]
            pk = f", PRIMARY KEY ({', '.join(key)})" if key else ""
            cursor.execute(
                f"CREATE TABLE floor_{name} ({', '.join(c + ' TEXT' for c in columns)}{pk})"
            )
            if postgres:
                buffer = io.StringIO()
                df.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%dT%H:%M:%S")
                with cursor.copy(f"COPY floor_{name} FROM STDIN (FORMAT csv)") as copy:
                    copy.write(buffer.getvalue())
            else:
                marks = ", ".join("?" * len(columns))
                cursor.executemany(
                    f"INSERT INTO floor_{name} VALUES ({marks})",
                    _for_db(df).itertuples(index=False, name=None),
                )
            rows += len(df)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return rows


def _ints_as_ints(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """fastexcel reads integers as floats: cast whole-number float columns back (for keys)."""
    out = {}
    for name, df in frames.items():
        df = df.copy()
        for column in df.columns:
            s = df[column]
            if pd.api.types.is_float_dtype(s) and (s.dropna() == np.floor(s.dropna())).all():
                df[column] = s.astype("Int64")
        out[name] = df
    return out


# --- the floors, one per stage (set-up, then the timed work) ---------------------------------


def _preload() -> None:
    """Import before the clock starts what the timed work imports (fastexcel, the rules)."""
    import fastexcel  # noqa: F401
    import pyarrow  # noqa: F401

    import schemas.extraction  # noqa: F401
    from pipelines.load.db import normalise_url  # noqa: F401


EXTRACTION_KEYS = {
    "programmes": ("code_programme",),
    "organismes": ("of_cr", "siret"),
    "lots": ("numero_lot",),
    "actions": ("id_action_cr",),
}


def floor_read_validate(ctx: Context) -> Callable[[], dict[str, Any]]:
    """fastexcel read of the extraction, then the vectorised checks."""
    path = ctx.extraction
    _preload()

    def work() -> dict[str, Any]:
        frames = canonical_extraction(read_workbook_fast(path))
        failing = check_extraction(frames)
        assert not any(failing.values()), failing
        return {"rows": {k: len(v) for k, v in frames.items()}}

    return work


def floor_ingest_extraction(ctx: Context) -> Callable[[], dict[str, Any]]:
    """fastexcel read + vectorised checks + bulk load of the extraction's rows."""
    path, url = ctx.extraction, ctx.url
    assert url is not None
    _preload()

    def work() -> dict[str, Any]:
        frames = _ints_as_ints(canonical_extraction(read_workbook_fast(path)))
        failing = check_extraction(frames)
        assert not any(failing.values()), failing
        return {"rows": bulk_load(url, frames, EXTRACTION_KEYS)}

    return work


def entry_tables(
    paths: Iterable[Path], read: Callable[[Path], dict[str, pd.DataFrame]]
) -> dict[str, pd.DataFrame]:
    """Every entry workbook read by ``read``, one table a sheet (the notes left out), its
    columns named by position so that the files' sheets stack."""
    by_sheet: dict[str, list[pd.DataFrame]] = {}
    for path in paths:
        for name, df in read(path).items():
            if _norm(name) != "notes":
                df.columns = [f"c{i}" for i in range(len(df.columns))]
                by_sheet.setdefault(_norm(name).replace(" ", "_"), []).append(df)
    return {k: pd.concat(v, ignore_index=True) for k, v in sorted(by_sheet.items())}


def floor_merge_entries(ctx: Context) -> Callable[[], dict[str, Any]]:
    """fastexcel read of every entry workbook + bulk load of their rows (one table a sheet)."""
    paths, url = ctx.entries, ctx.url
    assert url is not None
    _preload()

    def work() -> dict[str, Any]:
        return {"rows": bulk_load(url, entry_tables(paths, read_workbook_fast), {})}

    return work


def floor_approve(ctx: Context) -> Callable[[], dict[str, Any]]:
    """The same approval as two set-based statements (transitions recorded, states changed)."""
    from sqlalchemy import text

    from pipelines.load.db import make_engine

    assert ctx.url is not None
    engine = make_engine(ctx.url)
    now = dt.datetime.now(dt.UTC)

    def work() -> dict[str, Any]:
        with engine.begin() as conn:
            inserted = conn.execute(
                text(
                    "INSERT INTO action_transitions (action_id, from_etat, to_etat, at, who, why) "
                    "SELECT id, etat, 'validee', :now, 'bench', 'validée par le Carif-Oref' "
                    "FROM actions WHERE etat = 'en_attente_validation' ORDER BY id"
                ),
                {"now": now},
            ).rowcount
            conn.execute(
                text("UPDATE actions SET etat = 'validee' WHERE etat = 'en_attente_validation'")
            )
        assert inserted, "no action to approve"
        return {"approved": inserted}

    return work


def floor_publish(ctx: Context) -> Callable[[], dict[str, Any]]:
    """Each ``<formation>`` of the same document written by ``xmlfile`` and XSD-validated alone.

    The formations are parsed (``iterparse``) from the pipeline's own ``lheo.xml`` as they
    are written; only the writing and the validation are timed (``timed_seconds``).
    """
    from lxml import etree

    assert ctx.lheo is not None and ctx.output_dir is not None
    source, target = ctx.lheo, ctx.output_dir / "floor-lheo.xml"
    target.parent.mkdir(parents=True, exist_ok=True)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    tag = f"{{{LHEO_NS}}}formation"

    def work() -> dict[str, Any]:
        timed = 0.0
        count = 0
        with etree.xmlfile(str(target), encoding="utf-8") as xf:
            xf.write_declaration()
            with xf.element(f"{{{LHEO_NS}}}lheo", nsmap={None: LHEO_NS}):
                with xf.element(f"{{{LHEO_NS}}}offres"):
                    for _, element in etree.iterparse(str(source), tag=tag, huge_tree=True):
                        started = time.perf_counter()
                        xf.write(element)
                        valid = schema.validate(element)
                        timed += time.perf_counter() - started
                        assert valid, schema.error_log.last_error
                        count += 1
                        element.clear(keep_tail=False)
                        parent = element.getparent()
                        while parent is not None and element.getprevious() is not None:
                            del parent[0]
        target.unlink()
        assert count, "no formation in the document"
        return {"formations": count, "timed_seconds": timed}

    return work


FLOORS: dict[str, Callable[[Context], Callable[[], dict[str, Any]]]] = {
    "read_validate": floor_read_validate,
    "ingest_extraction": floor_ingest_extraction,
    "merge_entries": floor_merge_entries,
    "approve": floor_approve,
    "publish": floor_publish,
}
