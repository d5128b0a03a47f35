"""The Offre Info feed (``offre-info/lheo.xml``, its index and delta), on the published sample
offer (SQLite and PostgreSQL) and on synthetic offers (memory).

Golden file: ``tests/data/golden/lheo-2.3.xml`` is the 2.3 feed of the ``published`` fixture on
a fresh SQLite store, export date 2025-03-01. Regenerate it after a deliberate change of the
mapping with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/load/test_lheo_feed.py -k golden`` and
review the diff. PostgreSQL does not reset its ids between tests, so there the feed is compared
with the golden file without its ``numero`` attributes (the FAS codes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tracemalloc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import Engine, update

from pipelines.errors import ExportError
from pipelines.extract.lheo import read_lheo_entries
from pipelines.load.db import open_session
from pipelines.load.feeds import FeedFile, ReleaseContext
from pipelines.load.lheo_feed import FEED, INDEX, lheo_schema, write_lheo, xsd_message
from pipelines.load.published import iter_published
from pipelines.load.workflow import EN_ATTENTE, decide
from pipelines.transform.bundle import ActionBundle, SessionView
from pipelines.transform.lheo_export import build_formation
from pipelines.transform.lheo_export_delta import IndexDiff
from pipelines.transform.lheo_export_text import clean, cut, hour, place, text, wrap
from pipelines.transform.lheo_export_xml import LIMITS
from schemas import store
from schemas.lists import fold_label

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden" / "lheo-2.3.xml"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "lheo"
DAY = dt.date(2025, 3, 1)
MB = 2**20


def context(
    folder: Path,
    offer: Any,
    *,
    previous: Path | None = None,
    version: str = "2.3",
    day: dt.date = DAY,
) -> ReleaseContext:
    folder.mkdir(parents=True, exist_ok=True)
    return ReleaseContext(
        run_id="test", export_date=day, generated_at=dt.datetime(2025, 3, 1, 2, tzinfo=dt.UTC),
        folder=folder, previous=previous, offer=offer, session=lambda: None, lheo_version=version,
    )  # fmt: skip


@contextmanager
def published_offer(engine: Engine) -> Iterator[Any]:
    with open_session(engine) as db:
        yield lambda: iter_published(db, batch=7)


def write(engine: Engine, folder: Path, **options: Any) -> dict[str, FeedFile]:
    with published_offer(engine) as offer:
        return {f.path: f for f in write_lheo(context(folder, offer, **options))}


def validate(path: Path, version: str = "2.3") -> etree._ElementTree:
    tree = etree.parse(str(path))
    xsd = "lheo.xsd" if version == "2.3" else "lheo-2.2.xsd"
    etree.XMLSchema(etree.parse(str(SCHEMAS / xsd))).assertValid(tree)
    return tree


def extras(tree: etree._ElementTree, group: str) -> list[str]:
    root = tree.getroot()
    ns = {"l": etree.QName(root).namespace}
    return root.xpath(f"l:extras[@info='{group}']/l:extra/text()", namespaces=ns)


# --------------------------------------------------------------------------- the full feed


@pytest.mark.parametrize("version", ["2.3", "2.2"])
def test_valid_deterministic_and_one_formation_a_line(
    published: Engine, tmp_path: Path, version: str
) -> None:
    files = write(published, tmp_path / "a", version=version)
    again = write(published, tmp_path / "b", version=version)
    assert sorted(files) == sorted([FEED, f"offre-info/delta-{DAY:%Y%m%d}.xml", INDEX])
    assert files[FEED] == FeedFile(FEED, 46, f"LHEO {version}") == again[FEED]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    tree = validate(tmp_path / "a" / FEED, version)
    assert extras(tree, "flux-intercarif") == [f"{DAY:%Y%m%d}"]
    data = (tmp_path / "a" / FEED).read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<lheo xmlns=')
    lines = data.decode("utf-8").splitlines()
    starts = [n for n, line in enumerate(lines) if line.lstrip().startswith("<formation")]
    ends = [n for n, line in enumerate(lines) if line.lstrip().startswith("</formation")]
    assert len(starts) == len(ends) == 46 and all(s < e for s, e in zip(starts, ends, strict=True))
    # each chunk a consumer cuts on those lines is a valid formation on its own
    chunk = "\n".join(lines[starts[0] : ends[0] + 1]).encode("utf-8")
    assert lheo_schema(version).validate(etree.fromstring(chunk))
    # the index: one line per formation, the SHA-256 of its bytes as written
    index = (tmp_path / "a" / INDEX).read_text(encoding="utf-8").splitlines()
    assert index[0] == f"#lheo-index\t{version}\t{DAY:%Y%m%d}" and len(index) == 47
    first = "\n".join(lines[starts[0] : ends[0] + 1]).lstrip().encode("utf-8")
    assert index[1].split("\t")[1] == hashlib.sha256(first).hexdigest()


def test_golden_23(published: Engine, tmp_path: Path) -> None:
    write(published, tmp_path)
    produced = (tmp_path / FEED).read_text(encoding="utf-8")
    sqlite = published.dialect.name == "sqlite"
    if sqlite and os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    if sqlite:
        assert produced == expected
    else:  # ids are not reset between PostgreSQL tests: compare without the FAS codes
        strip = re.compile(r' numero="[^"]*"')
        assert strip.sub("", produced) == strip.sub("", expected)


def test_mapping_of_a_sample_action(published: Engine, tmp_path: Path) -> None:
    write(published, tmp_path)
    tree = validate(tmp_path / FEED)
    ns = {"l": "http://lheo.gouv.fr/2.3"}

    def texts(path: str) -> list[str]:
        return tree.getroot().xpath(path, namespaces=ns)

    recrutements = texts("//l:session/l:recrutement[l:modalite-recrutement='9']")
    assert recrutements and all(r.get("numero", "").startswith("IC-") for r in recrutements)
    assert set(texts("//l:recrutement/l:heure-debut/text()")) <= {"9h30", "14h"}
    assert set(texts("//l:session/l:etat-recrutement/text()")) <= {"1", "2", "3"}
    assert set(texts("//l:organisme-financeur/l:code-financeur/text()")) == {"2"}
    assert texts("//l:contact-session[l:type-contact='1']")  # référent PMR
    programmes = texts(
        "//l:extras[@info='specificites']/l:extra[@info='programme-financeur']/text()"
    )
    assert all(p.startswith("PROGRAMME REGION") for p in programmes) and len(programmes) == 46
    assert len(texts("//l:extras[@info='codes-externes']/l:extra[@info='numero-lot']")) == 46
    assert set(texts("//l:code-public-vise/text()")) == {"80006"}
    # « cadencées ou séquencées » has no LHEO code: dates fixes + the SOFI label in an extra
    assert texts("//l:extra[@info='esp']/text()") == ["entrées/sorties cadencées ou séquencées"] * 6
    numeros = texts("//l:numero-activite/text()")
    assert all(len(n) == 11 for n in numeros) and len(numeros) == 46
    unknown = texts(
        "//l:organisme-formation-responsable[l:numero-activite='99999999999']"
        "/l:extras[@info='numero-activite']/l:extra[@info='origine']/text()"
    )
    assert unknown == ["inconnu"] * numeros.count("99999999999")


# --------------------------------------------------------------------------- round trip


def test_our_export_reads_back_through_the_import(published: Engine, tmp_path: Path) -> None:
    write(published, tmp_path)
    raw = read_lheo_entries(tmp_path / FEED, max_bytes=50 * MB)
    sheets = {name: sheet.raw for name, sheet in raw.sheets.items()}
    actions = {r["ref_action"]: r for r in sheets["actions"].to_dict("records")}
    sessions = {r["ref_session"]: r for r in sheets["sessions"].to_dict("records")}
    infos = sheets["informations_collectives"].to_dict("records")
    with published_offer(published) as offer:
        bundles = list(offer())
    assert sorted(actions) == sorted(b.ref for b in bundles)
    assert len(infos) == sum(len(s.informations_collectives) for b in bundles for s in b.sessions)
    for bundle in bundles:
        got, d = actions[bundle.ref], bundle.dispositif
        assert got["siret"] == bundle.siret and got["ref_formation"] == str(bundle.formation["id"])
        assert (got["id_action_cr"], got["numero_lot"], got["of_mandataire_cr"]) == (
            str(d["id_action_cr"]), d["numero_lot"], str(d["of_mandataire_cr"]))  # fmt: skip
        assert got["nb_places_dispositif"] == str(d["nb_places_dispositif"])
        assert float(got["frais_ttc"]) == pytest.approx(d["frais_ttc"])
        assert fold_label(got["public"]) == fold_label(d["public"])
        for view in bundle.sessions:
            s, f = sessions[view.ref], view.fields
            assert s["ref_action"] == bundle.ref
            assert (s["date_debut"], s["date_fin"]) == (
                f"{f['date_debut']:%Y%m%d}",
                f"{f['date_fin']:%Y%m%d}",
            )
            assert (s["lieu_code_postal"], s["lieu_commune"]) == (
                f["lieu_code_postal"],
                f["lieu_commune"],
            )
            assert fold_label(s["esp"]) == fold_label(f["esp"])
            assert fold_label(s["etat_recrutement"]) == fold_label(f["etat_recrutement"])
            assert s["organisme_responsable"] == f["organisme_responsable_siret"]
            for kind, referent in view.referents.items():
                assert s[f"referent_{kind}_nom"] == referent["nom"]
                assert s[f"referent_{kind}_email"] == referent["email"]
            mine = [(i["date"], hour(i["heure_debut"])) for i in view.informations_collectives]
            theirs = [
                (dt.datetime.strptime(i["date"], "%Y%m%d").date(), i["heure_debut"])
                for i in infos
                if i["ref_session"] == view.ref
            ]
            assert sorted(mine) == sorted(theirs)


# --------------------------------------------------------------------------- delta


def _formations(path: Path) -> list[str]:
    tree = etree.parse(str(path))
    return [a.get("numero") for a in tree.getroot().iter("{*}action")]


def test_delta_holds_what_changed_and_what_was_withdrawn(published: Engine, tmp_path: Path) -> None:
    first = write(published, tmp_path / "r1")
    delta = f"offre-info/delta-{DAY:%Y%m%d}.xml"
    assert first[delta].records == 46  # no previous release: everything is created
    assert extras(validate(tmp_path / "r1" / delta), "delta") == ["46", "0", "0"]
    # the same store again: nothing changed, no delta
    second = write(published, tmp_path / "r2", previous=tmp_path / "r1", day=DAY.replace(day=2))
    assert sorted(second) == sorted([FEED, INDEX])
    # a session's date changes (and the action is validated again), another action withdrawn
    with published_offer(published) as offer:
        changed, withdrawn = next(b for b in offer() if len(b.sessions) == 2), next(offer())
    later = dt.datetime(2025, 3, 5, 10, tzinfo=dt.UTC)
    with open_session(published, write=True) as db, db.begin():
        session_id = changed.sessions[1].fields["id"]
        db.execute(update(store.Session).where(store.Session.id == session_id)
                   .values(date_debut=dt.date(2025, 10, 6), updated_at=later))  # fmt: skip
        db.execute(update(store.Action).where(store.Action.id == changed.action["id"])
                   .values(etat=EN_ATTENTE))  # fmt: skip
        decide(db, [changed.action["id"]], refuse=False, reason=None, now=later, who="test")
        decide(db, [withdrawn.action["id"]], refuse=True, reason="test", now=later, who="test")
    day = DAY.replace(day=5)
    third = write(published, tmp_path / "r3", previous=tmp_path / "r2", day=day)
    name = f"offre-info/delta-{day:%Y%m%d}.xml"
    assert third[FEED].records == 45 and third[name].records == 1
    tree = validate(tmp_path / "r3" / name)
    assert _formations(tmp_path / "r3" / name) == [changed.ref]
    assert extras(tree, "delta") == ["20250302", "0", "1", "1"]
    assert extras(tree, "modifications") == [changed.ref]
    assert extras(tree, "retraits") == [withdrawn.ref] and extras(tree, "creations") == []
    datemaj = [f.get("datemaj") for f in tree.getroot().iter("{*}formation")]
    assert datemaj == ["20250305"]
    # withdrawals only: LHEO needs a formation, the first one is carried unchanged
    with open_session(published, write=True) as db, db.begin():
        decide(db, [changed.action["id"]], refuse=True, reason="test", now=later, who="test")
    fourth = write(published, tmp_path / "r4", previous=tmp_path / "r3", day=day.replace(day=6))
    tree = validate(tmp_path / "r4" / "offre-info/delta-20250306.xml")
    carried = extras(tree, "delta")[-1]
    assert extras(tree, "retraits") == [changed.ref] and extras(tree, "modifications") == []
    assert _formations(tmp_path / "r4" / "offre-info/delta-20250306.xml") == [carried]
    assert carried != changed.ref and fourth[FEED].records == 44


def test_a_broken_previous_index_makes_everything_created(
    published: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(published, tmp_path / "r1")
    index = tmp_path / "r1" / INDEX
    lines = index.read_text(encoding="utf-8").splitlines()
    index.write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n", encoding="utf-8")
    files = write(published, tmp_path / "r2", previous=tmp_path / "r1", day=DAY.replace(day=2))
    assert files["offre-info/delta-20250302.xml"].records == 46
    assert "inutilisable" in caplog.text


def test_index_diff_merges_in_fas_order() -> None:
    diff = IndexDiff([("1-1", "a"), ("1-2", "b"), ("2-10", "c"), ("10-3", "d")])
    assert diff.step("1-2", "b") == (None, ["1-1"])
    assert diff.step("2-9", "x") == ("creee", [])
    assert diff.step("2-10", "z") == ("modifiee", [])
    assert list(diff.rest()) == ["10-3"]
    with pytest.raises(ValueError, match="ordre"):
        diff.step("2-1", "a")


# --------------------------------------------------------------------------- failures


def test_an_invalid_record_is_named_and_nothing_is_left(published: Engine, tmp_path: Path) -> None:
    with published_offer(published) as offer:
        victim = list(offer())[3]

    def broken() -> Iterator[ActionBundle]:
        with published_offer(published) as offer:
            for bundle in offer():
                if bundle.ref == victim.ref:
                    bundle.sessions[0].fields["lieu_code_postal"] = "4480"
                yield bundle

    with pytest.raises(ExportError) as caught:
        write_lheo(context(tmp_path, broken))
    assert caught.value.record == victim.ref and caught.value.feed == FEED
    assert "codepostal" in caught.value.message and "non conforme" in caught.value.message
    assert list((tmp_path / "offre-info").iterdir()) == []


def test_an_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="version LHEO inconnue"):
        write_lheo(context(tmp_path, lambda: iter(()), version="2.4"))


def test_an_empty_offer_writes_no_lheo_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """LHEO needs a formation: an offer without any (here one action without a session, which
    LHEO cannot hold either) gives no lheo.xml and no delta, only an empty index."""
    files = write_lheo(context(tmp_path, lambda: iter([replace(synthetic(1), sessions=[])])))
    assert files == [FeedFile(INDEX, 0, "TSV (index LHEO)")]
    assert [p.name for p in (tmp_path / "offre-info").iterdir()] == ["lheo-index.tsv"]
    assert "aucune formation publiable" in caplog.text


def test_xsd_messages_never_quote_personal_data() -> None:
    message = ("Element '{http://lheo.gouv.fr/2.3}courriel': [facet 'maxLength'] The value "
               "'jean.dupont@example.org' has a length of '300'.")  # fmt: skip
    assert xsd_message(message) == (
        "Element 'courriel': [facet 'maxLength'] The value '(masquée)' has a length of '300'."
    )
    assert "44" in xsd_message("Element '{x}codepostal': The value '44' is too short.")


# --------------------------------------------------------------------------- texts


def test_cut_on_a_word_boundary_never_inside_a_character() -> None:
    assert cut("Été à la mer", 20) == "Été à la mer"
    assert cut("Préparation aux métiers de l'aide à domicile", 20) == "Préparation aux…"
    assert len(cut("x" * 300, 255)) == 255
    assert cut("Anticonstitutionnellement", 10) == "Anticonst…"
    decomposed = "e\u0301" * 10  # « é » written as e + a combining acute accent
    assert cut(decomposed, 6) == "e\u0301e\u0301…"  # never e without its accent
    assert text(decomposed, 6) == "é" * 5 + "…"  # texts are NFC first: one character each
    assert cut("ab\u0301\u0323cdef", 3) == "a…"
    assert cut("Un, deux; trois quatre", 12) == "Un, deux…"


def test_clean_and_wrap() -> None:
    assert (
        clean("<p>Bonjour&nbsp;<b>à</b> tous</p><p>Suite</p>", multiline=True)
        == "Bonjour à tous\n\nSuite"
    )
    assert clean("  a \t b\r\n\r\n\r\nc\x07 ") == "a b c"
    assert clean("a\n\n\n\nb", multiline=True) == "a\n\nb"
    assert clean("   ") is None and clean(None) is None
    lines = wrap("Résidence les Tilleuls, bâtiment B, escalier 4, appartement 12, 3 rue des Écoles")
    assert all(len(line) <= 50 for line in lines) and 1 < len(lines) <= 4
    assert (
        " ".join(lines)
        == "Résidence les Tilleuls, bâtiment B, escalier 4, appartement 12, 3 rue des Écoles"
    )
    assert len(wrap("mot " * 100)) == 4 and wrap("mot " * 100)[-1].endswith("…")
    assert wrap(None) == []
    assert place("3, avenue Jean Jaurès, 44110 Châteaubriant") == (
        "3, avenue Jean Jaurès", "44110", "Châteaubriant")  # fmt: skip
    assert place("à distance") is None
    assert (hour("09:30"), hour("14:00"), hour("25:00")) == ("9h30", "14h", None)


@pytest.mark.parametrize("xsd", ["lheo.xsd", "lheo-2.2.xsd"])
def test_text_limits_are_the_xsd_ones(xsd: str) -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    tree = etree.parse(str(SCHEMAS / xsd))
    types = {t.get("name"): t for t in tree.iter(f"{xs}simpleType")}
    for name, limit in LIMITS.items():
        if name == "commentaire" and xsd == "lheo-2.2.xsd":
            continue  # recrutement/commentaire is new in 2.3
        facet = types[f"{name}-subtype"].find(f"{xs}restriction/{xs}maxLength")
        assert facet is not None and int(facet.get("value")) == limit, name


def test_long_texts_are_cut_and_2_2_levels_converted() -> None:
    bundle = synthetic(1)
    bundle.formation["intitule_formation"] = "Intitulé " * 40
    bundle.formation["code_niveau_sortie"] = "niveau 3 (CAP, BEP)"
    bundle.sessions[0].fields["lieu_adresse"] = "Zone artisanale " * 10
    for version in ("2.3", "2.2"):
        element = build_formation(bundle, version)
        assert element is not None and lheo_schema(version).validate(element)
        ns = {"l": etree.QName(element).namespace}
        title = element.findtext("l:intitule-formation", namespaces=ns)
        assert len(title) <= 255 and title.endswith("Intitulé…")
        sortie = element.findtext("l:code-niveau-sortie", namespaces=ns)
        assert sortie == ("13" if version == "2.3" else "4")
    assert element.xpath("l:extras[@info='niveaux-2019']/l:extra/text()", namespaces=ns) == ["13"]


# --------------------------------------------------------------------------- memory


def synthetic(n: int) -> ActionBundle:
    """A realistic published action numbered ``n`` (FAS codes n-n, n-n-n), no database."""
    stamp = "2025-03-01T02:00:00+00:00"
    lifecycle = {"created_at": stamp, "updated_at": stamp}
    site = {"siret": "55477415800014", "of_cr": 10457, "raison_sociale": "Organisme exemple",
            "numero_activite": "52440000044", "adresse": "18 impasse des Tisserands",
            "code_postal": "44800", "commune": "Saint-Herblain", "email": "contact@example.org",
            "telephone": "02 40 00 00 18", **lifecycle}  # fmt: skip
    fields = {"id": n, "date_debut": dt.date(2025, 9, 1), "date_fin": dt.date(2026, 1, 30),
              "lieu_adresse": "18 impasse des Tisserands", "lieu_code_postal": "44800",
              "lieu_commune": "Saint-Herblain", "esp": "entrée/sortie à dates fixes",
              "rythme": "temps plein", "periodes": "cours de jour", "type_parcours": "collectif",
              "modalites_pedagogiques": "en établissement de formation;en entreprise",
              "modalite_enseignement": "formation en présentiel", "duree_centre_h": 455.0,
              "duree_entreprise_h": 210.0, "duree_hebdo_h": 35.0,
              "commentaire_duree": "Dont 210 heures de stage.", "etat_recrutement": "ouvert",
              "modalites_recrutement": ["information collective", "entretien ou RDV individuel"],
              "organisme_responsable_siret": site["siret"], **lifecycle}  # fmt: skip
    text = "Contenu détaillé de la formation, avec ses modules et ses stages. " * 20
    return ActionBundle(
        ref=f"{n}-{n}", siret=site["siret"], programme="PSS", annee=2025,
        formation={"id": n, "intitule_formation": f"Formation {n}", "contenu_formation": text,
                   "objectif_formation": "Professionnalisation", "formacodes": ["44022", "15084"],
                   "domaine_principal": "44022", "code_niveau_sortie": "sans niveau spécifique",
                   "famille_metier": "Santé", **lifecycle},
        action={"id": n, "objectifs": text, "prerequis": "Aucun",
                "niveau_entree": "sans niveau spécifique", "plus_formation": "Des stages",
                "url_action": f"https://example.org/actions/{n}",
                "type_equipement": "Tenue professionnelle", **lifecycle},
        dispositif={"public": "demandeur d'emploi", "nb_places_dispositif": 12, "frais_ht": 3000.0,
                    "taux_tva": 20.0, "frais_ttc": 3600.0, "numero_lot": "PSS2025_10",
                    "id_action_cr": 100000 + n, "of_mandataire_cr": 10457, **lifecycle},
        lot={}, action_region={}, programme_row={"libelle_programme": "PROGRAMME REGION - PSS"},
        organismes={site["siret"]: site},
        sessions=[SessionView(
            ref=f"{n}-{n}-{n}", fields=fields,
            informations_collectives=[{"id": n, "date": dt.date(2025, 6, 5), "heure_debut": "09:30",
                                       "heure_fin": "11:30", "commentaire": "Apporter un CV.",
                                       "lieu": "18 impasse des Tisserands, 44800 Saint-Herblain"}],
            referents={"pmr": {"nom": "Karim Benali", "email": "k.benali@example.org",
                               "telephone": "02 40 00 00 39"}},
            periodes_inscription=[{"type": "candidature individuelle",
                                   "date_debut": dt.date(2025, 5, 5),
                                   "date_fin": dt.date(2025, 8, 25)}],
        )],
    )  # fmt: skip


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def _measure(tmp_path: Path, n: int) -> tuple[int, int, int]:
    """Write ``n`` synthetic formations; return (tracemalloc peak, RSS growth, file size)."""
    has_proc = Path("/proc/self/statm").exists()
    base, growth = (_rss() if has_proc else 0), 0

    def offer() -> Iterable[ActionBundle]:
        nonlocal growth
        for k in range(1, n + 1):
            if has_proc and k % 250 == 0:
                growth = max(growth, _rss() - base)
            yield synthetic(k)

    folder = tmp_path / f"n{n}"
    tracemalloc.start()
    try:
        files = write_lheo(context(folder, lambda: iter(offer())))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert files[0].records == n
    return peak, growth, (folder / FEED).stat().st_size


def test_memory_does_not_grow_with_the_offer(tmp_path: Path) -> None:
    """750 then 3 000 formations (~7.5 and ~30 MB, and as much again of delta, every formation
    being « created »): the Python heap peak (tracemalloc) and the process's resident growth
    (libxml2's memory is not Python's) stay the same.

    A first pass of 2 500 formations, not traced, loads the XSD and the code tables and fills
    CPython's free lists and caches (bounded: they stop growing after ~2 000 formations), which
    would otherwise show as a first-run difference. ~10 s: tracemalloc triples the cost of
    building elements; the report gives figures at larger sizes.
    """
    write_lheo(context(tmp_path / "warm-up", lambda: (synthetic(k) for k in range(1, 2_501))))
    small_peak, small_growth, small_size = _measure(tmp_path, 750)
    peak, growth, size = _measure(tmp_path, 3_000)
    assert size > 3.5 * small_size
    # a list of the 3 000 FAS codes alone would add ~0.2 MB: the peak must not move that much
    assert peak < small_peak + 64 * 1024, (
        f"tracemalloc peak {peak / MB:.2f} MB vs {small_peak / MB:.2f}"
    )
    assert growth < small_growth + 8 * MB, (
        f"RSS grew {growth / MB:.1f} MB vs {small_growth / MB:.1f}"
    )
    assert growth < size / 4


def test_synthetic_bundle_is_valid_in_both_versions() -> None:
    for version in ("2.3", "2.2"):
        element = build_formation(synthetic(7), version)
        assert element is not None and lheo_schema(version).validate(element)
    assert build_formation(replace(synthetic(8), sessions=[])) is None


def test_a_value_xml_cannot_hold_is_refused(tmp_path: Path) -> None:
    bundle = synthetic(3)
    bundle.dispositif["numero_lot"] = "PSS2025\x01_10"
    with pytest.raises(ExportError) as caught:
        write_lheo(context(tmp_path, lambda: iter([bundle])))
    assert caught.value.record == bundle.ref and "XML compatible" in caught.value.message
    with pytest.raises(ValueError, match="XML compatible"):
        build_formation(bundle)
