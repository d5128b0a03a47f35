"""LHEO entry import: the shared samples, our sample, hostile files, flat memory.

Row problems are asserted as exact (table, XML line, column, reason) tuples after the shared
checks (``check_sheet`` with ``schemas.entries.ENTRY_MODELS``), refusals by their reason code.
"""

from __future__ import annotations

import codecs
import datetime as dt
import http.server
import io
import threading
import tracemalloc
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, select

from pipelines.errors import FILE_REASONS, REASONS, ExtractionFileError
from pipelines.extract import lheo_xml
from pipelines.extract.extraction import RawDelivery
from pipelines.extract.lheo import iter_lheo_formations, read_lheo_entries
from pipelines.extract.lheo_nodes import lheo_date
from pipelines.extract.values import parse_date, parse_number, parse_siret
from pipelines.ingest import Limits, ingest_path
from pipelines.ingest_entries import ingest_entry_path
from pipelines.load.db import open_session
from pipelines.transform.validate import Problems, check_sheet
from schemas import store
from schemas.entries import ENTRY_MODELS, ENTRY_SHEETS
from schemas.rules import load_rulebook

MB = 2**20
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "lheo"
SAMPLE = ROOT / "data" / "samples" / "saisies" / "lheo" / "saisie_80251693000137_20250301.xml"
XSD = ROOT / "schemas" / "lheo" / "lheo.xsd"
NS23, NS22 = "http://lheo.gouv.fr/2.3", "http://www.lheo.org/2.2"
CANARY = "CANARY-7f3a9c-NE-DOIT-PAS-FUIR"

Tuple = tuple[str, int, str | None, str]


def read(path: Path, max_bytes: int = 10 * MB) -> RawDelivery:
    return read_lheo_entries(path, max_bytes=max_bytes)


def checked(raw: RawDelivery) -> list[Tuple]:
    """Run the shared parse + pandera checks on every entry table; return the problems."""
    problems = Problems(raw)
    for spec in ENTRY_SHEETS:
        check_sheet(raw, spec, ENTRY_MODELS[spec.name], problems)
    return [(e.sheet, e.row, e.column, e.reason) for e in problems.sorted_errors()]


def counts(raw: RawDelivery) -> dict[str, int]:
    return {name: len(sheet.raw) for name, sheet in raw.sheets.items()}


def cell(raw: RawDelivery, sheet: str, row: int, column: str) -> Any:
    return raw.sheets[sheet].raw.at[row, column]


def refusal(path: Path, max_bytes: int = 10 * MB) -> ExtractionFileError:
    with pytest.raises(ExtractionFileError) as caught:
        read(path, max_bytes)
    return caught.value


def write(tmp_path: Path, text: str, name: str = "saisie.xml", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def formation(n: int = 1, *, extra: str = "") -> str:
    """A small formation (not XSD-complete: the import reads what it maps)."""
    return f"""    <formation numero="F{n}">
      <domaine-formation><code-FORMACODE>44022</code-FORMACODE></domaine-formation>
      <intitule-formation>Formation {n}</intitule-formation>
      <action numero="A{n}">
        <modalites-entrees-sorties>0</modalites-entrees-sorties>
        <session numero="S{n}">
          <periode><debut>20250901</debut><fin>20251130</fin></periode>
        </session>{extra}
        <organisme-formateur><SIRET-formateur><SIRET>80251693000137</SIRET></SIRET-formateur>
        </organisme-formateur>
        <organisme-financeur><code-financeur>2</code-financeur>
          <extras info="codes-externes"><extra info="id-action-cr">{143000 + n}</extra></extras>
        </organisme-financeur>
      </action>
      <organisme-formation-responsable>
        <SIRET-organisme-formation><SIRET>80251693000137</SIRET></SIRET-organisme-formation>
      </organisme-formation-responsable>
    </formation>
"""


def document(*formations: str, namespace: str = NS23, prolog: str = "") -> str:
    body = "".join(formations)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<lheo xmlns="{namespace}">\n'
        f"  <offres>\n{body}  </offres>\n</lheo>\n"
    )


# --------------------------------------------------------------------------- shared samples


def test_synthetic_23_sample_maps_every_table() -> None:
    raw = read(DATA / "synthetic-prf-2.3.xml")
    assert counts(raw) == {
        "formations": 1,
        "actions": 1,
        "sessions": 1,
        "informations_collectives": 1,
    }
    # rows are indexed by the XML line of their element (libxml2: where the start tag ends)
    assert cell(raw, "formations", 14, "formacodes") == "44022;15084;44004"
    assert cell(raw, "actions", 40, "numero_lot") == "PSS2025_10"
    assert cell(raw, "actions", 40, "nb_places_dispositif") == "15"
    assert cell(raw, "actions", 40, "public") == "Demandeur d'emploi"
    assert cell(raw, "actions", 40, "url_pdf").endswith("programme.pdf")
    assert cell(raw, "sessions", 70, "esp") == "entrée/sortie à dates fixes"
    assert cell(raw, "sessions", 70, "etat_recrutement") == "ouvert"
    assert cell(raw, "sessions", 70, "date_fin") == "20260130"
    assert cell(raw, "sessions", 70, "modalites_recrutement") == (
        "information collective;entretien ou RDV individuel"
    )
    assert cell(raw, "sessions", 70, "referent_prf_email") == "prf@example.org"
    ic = raw.sheets["informations_collectives"].raw.loc[82].to_dict()
    assert ic == {
        "siret": "12345678900021",
        "ref_session": "SOFI_S_000789",
        "date": "20250704",
        "heure_debut": "9h30",
        "heure_fin": "12h",
        "lieu": "1 rue Exemple, 44000 Nantes",
        "commentaire": "Apporter un CV.",
    }
    # the sample's invented SIRET fails its check digit; its ID Action CR is not a number
    assert checked(raw) == [
        ("formations", 14, "siret", "siret-invalide"),
        ("actions", 40, "siret", "siret-invalide"),
        ("actions", 40, "id_action_cr", "type-invalide"),
        ("sessions", 70, "siret", "siret-invalide"),
    ]


def test_onisep_22_sample_falls_back_to_the_responsable_siret() -> None:
    raw = read(DATA / "onisep-bts-nrc-lheo-2.2.xml")
    assert counts(raw) == {
        "formations": 1,
        "actions": 1,
        "sessions": 1,
        "informations_collectives": 0,
    }
    assert cell(raw, "formations", 4, "siret") == "19290076900014"  # no lieu/formateur SIRET
    assert cell(raw, "formations", 4, "code_certifinfo") == "19004"
    assert cell(raw, "formations", 4, "certifiante") == "1"
    assert cell(raw, "sessions", 65, "lieu_commune") == "QUIMPERLÉ"
    assert cell(raw, "sessions", 65, "commentaire_duree") == "2 ans"
    assert cell(raw, "actions", 32, "prerequis") is None  # Intercarif's "-" placeholder
    assert raw.warnings == []
    assert checked(raw) == [("actions", 32, "id_action_cr", "valeur-manquante")]


def test_anotea_faults_are_row_problems() -> None:
    """Anotéa's Intercarif fixture: SIRETs of 15 digits (a leading 0), no ID Action CR, an
    unknown date-information. The typo ``coordonneFs`` and the misordered ``courriel`` sit
    in contacts no column reads: they are not reported (the XSD is not the contract)."""
    raw = read(DATA / "anotea-intercarif-data-test-lheo-2.2.xml")
    assert counts(raw) == {
        "formations": 1,
        "actions": 1,
        "sessions": 1,
        "informations_collectives": 0,
    }
    assert cell(raw, "actions", 54, "siret") == "022222222222222"  # as written
    assert cell(raw, "actions", 54, "public") == "Demandeur d'emploi"  # financed public
    assert cell(raw, "sessions", 93, "duree_hebdo_h") == "35"  # Intercarif extra
    assert cell(raw, "sessions", 93, "periode_inscription_debut") is None  # 00000000
    assert raw.warnings == [
        "1 date(s) d'information collective inconnue(s) (00000000) ignorée(s), ligne(s) 421."
    ]
    assert checked(raw) == [
        ("formations", 2, "siret", "siret-format"),
        ("actions", 54, "siret", "siret-format"),
        ("actions", 54, "id_action_cr", "valeur-manquante"),
        ("sessions", 93, "siret", "siret-format"),
        ("sessions", 93, "organisme_responsable", "siret-format"),
    ]


def test_a_broken_formation_does_not_stop_the_sound_ones(tmp_path: Path) -> None:
    broken = (DATA / "anotea-intercarif-data-test-lheo-2.2.xml").read_text(encoding="utf-8")
    start, end = broken.index("<formation "), broken.index("</formation>") + len("</formation>")
    sound = (
        broken[start:end]
        .replace("022222222222222", "19290076900014")
        .replace("011111111111111", "19290076900014")
        .replace('numero="F_XX_XX"', 'numero="F_OK"')
        .replace('numero="AC_XX_XXXXXX"', 'numero="AC_OK"')
        .replace('numero="SE_XXXXXX"', 'numero="SE_OK"')
        .replace(
            '<extras info="specificites">',
            '<extras info="codes-externes"><extra info="id-action-cr">143880</extra></extras>\n'
            '<extras info="specificites">',
        )
    )
    text = broken[:end] + "\n" + sound + broken[end:]
    path = write(tmp_path, text)
    raw = read(path)
    first_line = text[: text.index('<formation numero="F_OK"')].count("\n") + 1
    assert counts(raw)["actions"] == 2
    problems = checked(raw)
    assert {row for _, row, _, _ in problems} == {2, 54, 93}
    assert all(row < first_line for _, row, _, _ in problems)
    sound_rows = raw.sheets["formations"].raw.loc[first_line]
    assert sound_rows["ref_formation"] == "F_OK"


# --------------------------------------------------------------------------- our sample


def test_our_sample_is_valid_lheo_23() -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document_ = etree.parse(str(SAMPLE))
    assert schema.validate(document_), schema.error_log


def test_our_sample_imports_clean_and_matches_the_extraction() -> None:
    raw = read(SAMPLE)
    assert counts(raw) == {
        "formations": 3,
        "actions": 5,
        "sessions": 5,
        "informations_collectives": 8,
    }
    assert checked(raw) == []
    assert raw.warnings == []
    formations = raw.sheets["formations"].raw.set_index("ref_formation")
    pss = formations.loc["G49-F-PSS2025-4-prepa-aide-soignant"]
    pca = formations.loc["G49-F-PCA2025-4-prepa-cles-avenir"]
    assert pss["intitule_formation"] == "Formation aide-soignant – Module préparatoire"
    assert pss["formacodes"] == "44022;44004;15084"
    assert (pss["certifiante"], pss["code_certifinfo"]) == ("0", None)
    assert pca["intitule_formation"].endswith("– Compétences clés et projet professionnel")
    assert (pca["formacodes"], pca["certifiante"]) == ("15040;15041", "0")
    sessions = raw.sheets["sessions"].raw.set_index("ref_session")
    assert all(d.startswith("2025") for d in sessions["date_debut"])
    assert set(sessions["esp"]) == {"entrée/sortie à dates fixes"}
    assert set(sessions["rythme"]) == {"Temps plein"}
    assert sessions.loc["G49-S-143839-1", "type_parcours"] == "collectif"
    assert sessions.loc["G49-S-144091-1", "type_parcours"] == "individualisé"
    assert sessions.loc["G49-S-143842-1", "etat_recrutement"] == "fermé"
    assert set(sessions["organisme_responsable"]) == {"80251693000137"}
    assert sessions.loc["G49-S-143839-1", "modalites_recrutement"] == (
        "information collective;épreuves écrites;entretien ou RDV individuel"
    )
    for kind in ("pmr", "mobilite", "prf"):
        assert sessions[f"referent_{kind}_email"].notna().all(), kind
    ics = raw.sheets["informations_collectives"].raw
    assert ics["ref_session"].value_counts().sort_index().to_dict() == {
        "G49-S-143839-1": 2,
        "G49-S-143842-1": 1,
        "G49-S-143843-1": 2,
        "G49-S-144088-1": 1,
        "G49-S-144091-1": 2,
    }
    assert "à distance" in set(ics["lieu"])
    # every action is one of the organisation's actions in the Région's bundled extraction,
    # with the frame's codes externes, places, durations and planned dates
    workbook = CalamineWorkbook.from_path(str(ROOT / "data" / "samples" / "prf_2025_20250115.xlsx"))
    rows = workbook.get_sheet_by_name("Actions PRF").to_python()[3:]
    frame = {int(float(r[0])): r for r in rows if str(r[0]).strip()}
    session_of = sessions.reset_index().set_index("ref_action")
    for _, action in raw.sheets["actions"].raw.iterrows():
        r = frame[int(action["id_action_cr"])]
        assert (action["numero_lot"], int(action["of_mandataire_cr"])) == (r[1], int(r[2]))
        assert action["siret"] == parse_siret(r[3]) == "80251693000137"
        assert int(action["nb_places_dispositif"]) == int(r[8])
        assert action["public"] == "Demandeur d'emploi"
        assert action["prise_en_charge_frais"] == "1"
        session = session_of.loc[action["ref_action"]]
        assert float(session["duree_centre_h"]) == parse_number(r[9])
        assert float(session["duree_entreprise_h"]) == parse_number(r[10])
        assert session["date_debut"] == f"{parse_date(r[11]):%Y%m%d}"
        assert session["date_fin"] == f"{parse_date(r[12]):%Y%m%d}"


def test_our_sample_describes_actions_no_workbook_sample_describes(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    """Ingested after the workbook samples (as ``make run`` does), the LHEO sample is taken
    whole: no ``action-deja-decrite``, every action complete (« en attente de validation »)."""
    limits = Limits(200 * MB, 2**30)
    now = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
    options = {"engine": engine, "output_dir": tmp_path, "limits": limits, "now": now}
    frame = ingest_path(sample("prf_2025_20250115.xlsx"), threshold=0.2, **options)
    assert frame.status == "integree"
    rulebook = load_rulebook()
    for path in [*sorted(sample("saisies").glob("saisie_*.xlsx")), SAMPLE]:
        result = ingest_entry_path(path, rulebook=rulebook, threshold=0.2, **options)
        assert result.status == "integree", result.report.refusal
    assert result.report.errors == []
    with open_session(engine) as db:
        states = db.execute(
            select(store.Action.ref_action, store.Action.etat).where(
                store.Action.siret == "80251693000137"
            )
        ).all()
        issues = db.scalars(
            select(store.ActionIssue.rule)
            .join(store.Action, store.ActionIssue.action_id == store.Action.id)
            .where(store.Action.siret == "80251693000137")
        ).all()
    assert sorted(states) == [
        (f"G49-A-{n}", "en_attente_validation") for n in (143839, 143842, 143843, 144088, 144091)
    ]
    assert issues == []


# --------------------------------------------------------------------------- mapping details


def test_dates_month_year_and_unknown() -> None:
    assert lheo_date("00000000") is None
    assert lheo_date("99999999", end=True) is None
    assert lheo_date("20250900") == "20250901"
    assert lheo_date("20250200", end=True) == "20250228"
    assert lheo_date("20250000", end=True) == "20251231"
    assert lheo_date("20251345") == "20251345"  # left to the date parser, which reports it


def test_date_information_and_offre_info_extras(tmp_path: Path) -> None:
    information = """
        <adresse-information><adresse><ligne>2 rue Y</ligne><codepostal>85000</codepostal>
        <ville>La Roche-sur-Yon</ville></adresse></adresse-information>
        <date-information><date>20250115</date></date-information>"""
    collective = """
          <extras info="info-collective"><extra info="date">20250120</extra>
            <extra info="heure-debut">14h</extra><extra info="lieu">Visio</extra></extras>"""
    text = document(
        formation(1, extra=information),
        formation(2).replace("</session>", collective + "\n        </session>"),
        namespace=NS22,
    )
    raw = read(write(tmp_path, text))
    ics = raw.sheets["informations_collectives"].raw
    assert ics[["ref_session", "date", "heure_debut", "lieu"]].values.tolist() == [
        ["S1", "20250115", None, "2 rue Y, 85000 La Roche-sur-Yon"],
        ["S2", "20250120", "14h", "Visio"],
    ]
    assert checked(raw) == []


def test_pe_certification_esp_and_parcours(tmp_path: Path) -> None:
    """What PE 2025 reads from LHEO (our sample is PSS and PCA): the Certifinfo code and its
    type, the ESP « cadencées ou séquencées » (no LHEO code: an extra) and parcours 4."""
    certification = """</intitule-formation>
      <parcours-de-formation>4</parcours-de-formation>
      <certification><code-CERTIFINFO>93561</code-CERTIFINFO></certification>"""
    esp = """<extras info="sofi-session">
          <extra info="esp">entrées/sorties cadencées ou séquencées</extra></extras>
        </session>"""
    kind = """<extras info="sofi-formation">
        <extra info="type-certification">Autre certification sans niveau spécifique</extra>
      </extras>
    </formation>"""
    text = document(
        formation(1)
        .replace("</intitule-formation>", certification)
        .replace("</session>", esp)
        .replace("</formation>", kind)
    )
    raw = read(write(tmp_path, text))
    row = raw.sheets["formations"].raw.iloc[0]
    assert (row["certifiante"], row["code_certifinfo"]) == ("1", "93561")
    assert row["type_certification"] == "Autre certification sans niveau spécifique"
    session = raw.sheets["sessions"].raw.iloc[0]
    assert session["esp"] == "entrées/sorties cadencées ou séquencées"
    assert session["type_parcours"] == "mixte - modulaire"
    assert checked(raw) == []


def test_missing_numero_gets_a_stable_reference(tmp_path: Path) -> None:
    text = document(formation(1).replace(' numero="F1"', "").replace(' numero="S1"', ""))
    first, second = read(write(tmp_path, text, "a.xml")), read(write(tmp_path, text, "b.xml"))
    ref = cell(first, "formations", 4, "ref_formation")
    assert ref.startswith("lheo-") and ref == cell(second, "formations", 4, "ref_formation")
    assert cell(first, "actions", 7, "ref_formation") == ref
    assert "2 formation(s), action(s) ou session(s) sans attribut numero" in first.warnings[0]


def test_one_formation_row_per_action_siret(tmp_path: Path) -> None:
    other = formation(2).replace(
        "80251693000137</SIRET></SIRET-formateur>", "19290076900014</SIRET></SIRET-formateur>"
    )
    action_2 = other[other.index("      <action ") : other.index("      <organisme-formation")]
    text = document(
        formation(1).replace(
            "      <organisme-formation-", action_2 + "      <organisme-formation-", 1
        )
    )
    raw = read(write(tmp_path, text))
    rows = raw.sheets["formations"].raw[["siret", "ref_formation"]].values.tolist()
    assert rows == [["80251693000137", "F1"], ["19290076900014", "F1"]]
    action_line = text[: text.index('<action numero="A2"')].count("\n") + 1
    assert raw.sheets["formations"].raw.index.tolist() == [4, action_line]
    assert raw.sheets["actions"].raw["ref_formation"].tolist() == ["F1", "F1"]


# --------------------------------------------------------------------------- hostile files


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        body = f'<!ENTITY x "{CANARY}"><!ENTITY % y "">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    """A local HTTP server that counts the requests it gets (there must be none)."""
    _Hits.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hits)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:  # the counter works
            assert CANARY in response.read().decode()
        assert _Hits.hits == ["/ping"]
        _Hits.hits.clear()
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert _Hits.hits == [], "the parser made an HTTP request"


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(CANARY)
    return path


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the lxml parses started (a refused prolog must start none)."""
    calls: list[int] = []
    real = etree.iterparse

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(etree, "iterparse", spy)
    return calls


def hostile(canary: Path, url: str) -> dict[str, str]:
    body = document(formation(1)).split("\n", 1)[1]  # without the XML declaration
    laughs = "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    return {
        "xxe-file": f'<!DOCTYPE lheo [<!ENTITY x SYSTEM "file://{canary}">]>\n'
        + body.replace("Formation 1", "&x;"),
        "xxe-http": f'<!DOCTYPE lheo [<!ENTITY x SYSTEM "{url}/x">]>\n'
        + body.replace("Formation 1", "&x;"),
        "parameter-entity": f'<!DOCTYPE lheo [<!ENTITY % p SYSTEM "{url}/p"> %p;]>\n' + body,
        "external-dtd": f'<!DOCTYPE lheo SYSTEM "{url}/lheo.dtd">\n' + body,
        "billion-laughs": f'<!DOCTYPE lheo [<!ENTITY l0 "ha">{laughs}]>\n'
        + body.replace("Formation 1", "&l9;"),
        "doctype-alone": "<!DOCTYPE lheo>\n" + body,
        "entity-without-doctype": '<!ENTITY x "y">\n' + body,
        "after-comments": "<?xml version='1.0'?>\n<!-- export -->\n<?pi x?>\n<!DOCTYPE lheo>\n"
        + body,
    }


@pytest.mark.parametrize(
    "case",
    [
        "xxe-file",
        "xxe-http",
        "parameter-entity",
        "external-dtd",
        "billion-laughs",
        "doctype-alone",
        "entity-without-doctype",
        "after-comments",
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_dtds_and_entities_are_refused_unread(
    tmp_path: Path, canary: Path, http_url: str, parses: list[int], case: str, encoding: str
) -> None:
    text = hostile(canary, http_url)[case]
    if encoding == "utf-16":
        text = text.replace("<?xml version='1.0'?>", '<?xml version="1.0" encoding="UTF-16"?>')
    error = refusal(write(tmp_path, text, encoding=encoding))
    assert error.reason == "xml-dangereux"
    assert CANARY not in str(error) and CANARY not in error.message
    assert parses == []  # lxml never saw the file
    assert _Hits.hits == []  # nothing fetched


def test_the_parser_options_hold_without_the_prolog_check(
    tmp_path: Path, canary: Path, http_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second lock: even if the prolog check were bypassed, nothing is fetched or expanded
    and the DOCTYPE still refuses the file."""
    monkeypatch.setattr(lheo_xml, "check_prolog", lambda fh, name: None)
    for case in ("xxe-file", "xxe-http", "parameter-entity", "external-dtd", "billion-laughs"):
        error = refusal(write(tmp_path, hostile(canary, http_url)[case]))
        assert error.reason == "xml-dangereux", case
        assert CANARY not in error.message
    assert _Hits.hits == []


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be", "latin-1"]
)
@pytest.mark.parametrize("padding", [0, 65_533])  # the declaration across the first chunk's end
def test_the_prolog_check_sees_through_encodings(encoding: str, padding: int) -> None:
    prolog = "<?xml version='1.0'?>" + " " * padding + "<!-- export -->\n"
    with pytest.raises(ExtractionFileError) as caught:
        lheo_xml.check_prolog(io.BytesIO((prolog + "<!DOCTYPE lheo><lheo/>").encode(encoding)), "f")
    assert caught.value.reason == "xml-dangereux"
    lheo_xml.check_prolog(io.BytesIO((prolog + "<lheo/>").encode(encoding)), "f")  # accepted


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    text = document(formation(1)).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    path = write(tmp_path, text, encoding="utf-16")
    assert path.read_bytes().startswith(codecs.BOM_UTF16_LE)
    assert counts(read(path))["sessions"] == 1


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    text = document(formation(1), formation(2).replace("</intitule-formation>", "</intitule>"))
    line = text[: text.index("</intitule>")].count("\n") + 1
    error = refusal(write(tmp_path, text))
    assert error.reason == "xml-invalide"
    assert f"(ligne {line})" in error.message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (document(formation(1), namespace="http://example.org/lheo"), "lheo-version-inconnue"),
        (document(formation(1)).replace(f' xmlns="{NS23}"', ""), "lheo-version-inconnue"),
        (
            document(formation(1))
            .replace("<lheo ", "<lheo-index ")
            .replace("</lheo>", "</lheo-index>"),
            "lheo-version-inconnue",
        ),
        (document(), "lheo-sans-formation"),
        ("PK\x03\x04 not xml", "xml-invalide"),
        ("", "xml-invalide"),
        (document(formation(1), formation(2)).replace("\n", ""), "lheo-lignes-confondues"),
    ],
    ids=["namespace", "no-namespace", "root", "empty", "zip", "nothing", "one-line"],
)
def test_file_level_refusals(tmp_path: Path, text: str, reason: str) -> None:
    error = refusal(write(tmp_path, text))
    assert error.reason == reason
    assert reason in FILE_REASONS and reason in REASONS


def test_size_is_bounded_before_and_while_parsing(tmp_path: Path, parses: list[int]) -> None:
    path = write(tmp_path, document(*(formation(n) for n in range(50))))
    assert refusal(path, max_bytes=2_000).reason == "fichier-trop-volumineux"
    assert parses == []  # refused on its size, unread
    # a file that grows under the parser is stopped at the limit all the same
    with pytest.raises(ExtractionFileError) as caught:
        list(iter_lheo_formations(path, max_bytes=path.stat().st_size // 2))
    assert caught.value.reason == "fichier-trop-volumineux"


# --------------------------------------------------------------------------- memory


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def test_memory_stays_flat_on_a_large_file(tmp_path: Path) -> None:
    """3 000 formations, ~50 MB on disk (streamed there): the Python heap peak (tracemalloc)
    and the process's resident growth (libxml2's tree is not Python memory) stay far below."""
    path = tmp_path / "large.xml"
    filler = "Contenu détaillé de la formation. " * 500
    with path.open("w", encoding="utf-8") as fh:
        fh.write(document().split("  </offres>")[0])
        for n in range(3_000):
            fh.write(formation(n).replace("Formation", f"Formation {filler}", 1))
        fh.write("  </offres>\n</lheo>\n")
    size = path.stat().st_size
    assert size > 40 * MB
    has_proc = Path("/proc/self/statm").exists()
    base = _rss() if has_proc else 0
    growth, seen = 0, 0
    tracemalloc.start()
    try:
        for found in iter_lheo_formations(path, max_bytes=size):
            seen += len(found.rows["sessions"])
            if has_proc and seen % 250 == 0:
                growth = max(growth, _rss() - base)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == 3_000
    assert peak < size / 20, f"tracemalloc peak {peak / MB:.1f} MB for a {size / MB:.0f} MB file"
    assert growth < size / 4, f"RSS grew {growth / MB:.1f} MB for a {size / MB:.0f} MB file"
