"""The reports of a release: run report, one page and CSV per organisation, the quarantine."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from pipelines.errors import ExportError
from pipelines.labels import COUNTER_LABELS, STATE_LABELS
from pipelines.load.dashboard import dashboard
from pipelines.load.db import open_session
from pipelines.load.feeds import ReleaseContext
from pipelines.load.report_charts import bar_chart
from pipelines.load.reports import write_reports
from pipelines.load.workflow import decide
from schemas.store import Action, ActionIssue, Delivery, Formation, Reject, Session

NOW = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 3, 1)
HOSTILE_NAME = "<script>alert(1)</script>.xlsx"
_BLANKS = re.compile(r"[ \t\r\n]+")  # HTML's blanks (not the narrow no-break space)
FORMULA = '=HYPERLINK("http://evil.example/","clic")'


def context(engine: Engine, folder: Path) -> ReleaseContext:
    """A release context on the store, with a fixed time."""
    return ReleaseContext(
        run_id="essai",
        export_date=TODAY,
        generated_at=NOW,
        folder=folder,
        previous=None,
        offer=lambda: iter([]),
        session=lambda: open_session(engine),
        today=TODAY,
    )


class Page(HTMLParser):
    """A page read back: its tables by id (rows of cell texts), its SVGs, every tag seen."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.svgs: list[dict[str, Any]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._svg_depth = 0  # 0: outside any SVG; 1: its direct children are next
        self._svg_text: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            assert attributes["id"] not in self.ids, f"id {attributes['id']} twice"
            self.ids.add(attributes["id"] or "")
        if tag == "svg":
            self.svgs.append({"attrs": attributes, "children": []})
            self._svg_depth = 1
            return
        if self._svg_depth:
            if self._svg_depth == 1:
                self.svgs[-1]["children"].append((tag, attributes, []))
                if tag in ("title", "desc"):
                    self._svg_text = self.svgs[-1]["children"][-1][2]
            self._svg_depth += 1
        if tag == "table":
            self._table = attributes.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table and self.tables[self._table]:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._svg_depth:
            self._svg_depth -= 1
            self._svg_text = None
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(_BLANKS.sub(" ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._svg_text is not None:
            self._svg_text.append(data)

    def body(self, table: str) -> list[list[str]]:
        """The rows of a table, header row left out."""
        return self.tables[table][1:]

    def pairs(self, table: str) -> dict[str, str]:
        """A two-column table (label, number) as a dict."""
        return {row[0]: row[1] for row in self.body(table)}


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def add_hostile_delivery(engine: Engine) -> None:
    """A refused entry file with a script as its name, and a rejected row holding a formula."""
    with open_session(engine, write=True) as db, db.begin():
        delivery = Delivery(
            kind="saisie",
            file_name=HOSTILE_NAME,
            year=2025,
            sha256="f" * 64,
            size_bytes=10,
            received_at=NOW,
            status="refused",
            message="Refusé <b>en gras</b>",
            counts={},
        )
        db.add(delivery)
        db.flush()
        db.add(
            Reject(
                delivery_id=delivery.id,
                sheet="sessions",
                row=3,
                column="intitule",
                value=FORMULA,
                reason="type-invalide",
                message="Valeur <i>invalide</i>.",
            )
        )


def stored_rejects(engine: Engine) -> list[tuple[Any, ...]]:
    with open_session(engine) as db:
        return [
            tuple(r)
            for r in db.execute(
                select(
                    Reject.delivery_id,
                    Delivery.file_name,
                    Reject.sheet,
                    Reject.row,
                    Reject.column,
                    Reject.value,
                    Reject.reason,
                    Reject.message,
                ).join(Delivery, Reject.delivery_id == Delivery.id)
            )
        ]


def offer_sirets(engine: Engine) -> set[str]:
    with open_session(engine) as db:
        return {
            s
            for model in (Formation, Action, Session)
            for s in db.scalars(select(model.siret).distinct())
        }


# --------------------------------------------------------------------------- rapport/index.html


def test_index_tells_what_the_store_holds(published: Engine, tmp_path: Path) -> None:
    add_hostile_delivery(published)
    files = write_reports(context(published, tmp_path))
    html = (tmp_path / "rapport" / "index.html").read_text(encoding="utf-8")
    page = Page(html)

    assert html.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert not [t for t, _ in page.tags if t in ("script", "link", "img", "iframe", "object")]
    links = [a.get(k) or "" for _, a in page.tags for k in ("href", "src") if k in a]
    assert links and all(not link.startswith(("http", "//")) for link in links)  # offline
    assert "Généré le 01/03/2025 à 03:00 (heure de Paris)" in html

    # a hostile file name is text, never markup
    assert "<script>" not in html and "<b>en gras</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.xlsx" in html
    hostile = [r for r in page.body("livraisons") if r[1] == HOSTILE_NAME]
    assert hostile and hostile[0][2:5] == ["Saisie d'organisme", "2025", "refusée"]
    assert hostile[0][6] == "f" * 12 and hostile[0][7] == "1"

    with open_session(published) as db:
        states = dict(
            db.execute(
                select(Action.etat, func.count())
                .where(Action.withdrawn_at.is_(None))
                .group_by(Action.etat)
            ).all()
        )
        sessions_validated = db.scalar(
            select(func.count())
            .select_from(Session)
            .join(Action, Session.action_id == Action.id)
            .where(Action.etat == "validee", Session.withdrawn_at.is_(None))
        )
        blocking = db.execute(
            select(ActionIssue.rule, func.count())
            .join(Action, ActionIssue.action_id == Action.id)
            .where(ActionIssue.severity == "bloquant", Action.etat != "validee")
            .group_by(ActionIssue.rule)
        ).all()
        deliveries = db.scalar(select(func.count()).select_from(Delivery))
    key = page.pairs("chiffres-cles")
    assert key["Fichiers reçus"] == str(deliveries)
    assert key["Fichiers refusés ou arrêtés"] == "1"
    assert key["Actions validées par le Carif-Oref"] == str(states["validee"]) == "46"
    assert key["Actions publiées"] == "46"
    assert key["Sessions publiées"] == str(sessions_validated)
    assert key["Actions retenues (non publiées)"] == str(states["en_cours_de_saisie"]) == "19"
    assert page.pairs("actions-par-etat") == {
        label: str(states.get(state, 0)) for state, label in STATE_LABELS.items()
    }
    assert page.pairs("publie-totaux") == {
        "Actions publiées": "46",
        "Sessions publiées": str(sessions_validated),
    }
    assert {r[0]: r[2] for r in page.body("regles-bloquantes")} == {
        rule: str(n) for rule, n in blocking
    }
    assert page.body("cadre-par-annee")[0][0] == "2025"
    programmes = page.body("par-programme")
    assert sum(int(r[4]) for r in programmes) == 46
    assert sum(int(r[6]) for r in programmes) == sessions_validated

    # rejects by reason: what the store holds, and the one in the hostile delivery
    reasons = Counter(r[6] for r in stored_rejects(published))
    assert reasons["type-invalide"] == 1
    assert {r[0]: int(r[1]) for r in page.body("rejets-par-motif")} == dict(reasons)
    by_organisation = page.body("rejets-par-organisme")
    assert by_organisation[0][:4] == ["Région", "", "1", "0"]
    assert ["AFPA Pays de la Loire", "55477415800014", "1", "3"] in by_organisation
    assert by_organisation[-1][0].startswith("Organisme non identifié")

    # the Kairos feed was not built before: the report says so
    assert "Le flux Kairos/Ouiform n'a pas été construit" in html
    assert "kairos-par-organisme" not in page.tables

    # charts: images with a name, their numbers also in tables
    assert len(page.svgs) == 3
    for svg in page.svgs:
        assert svg["attrs"]["role"] == "img"
        tag, attrs, text = svg["children"][0]
        assert tag == "title" and "".join(text).strip()
        assert set((svg["attrs"]["aria-labelledby"] or "").split()) <= page.ids
    titles = ["".join(svg["children"][0][2]) for svg in page.svgs]
    assert titles == [
        "Actions de l'offre par état",
        "Sessions publiées par programme",
        "Lignes rejetées par motif",
    ]

    index = [f for f in files if f.path == "rapport/index.html"]
    assert index and index[0].format == "HTML"
    assert index[0].records == len(page.body("organismes-liste")) == len(offer_sirets(published))
    assert [f.path for f in files] == sorted(f.path for f in files)


def test_refused_actions_are_held_back_with_the_reason(published: Engine, tmp_path: Path) -> None:
    with open_session(published, write=True) as db, db.begin():
        first = db.scalars(select(Action.id).where(Action.etat == "validee").order_by(Action.id))
        decide(db, [next(iter(first))], refuse=True, reason="Intitulé à revoir", now=NOW,
               who="offre@carif-oref")  # fmt: skip
    write_reports(context(published, tmp_path))
    page = read_page(tmp_path / "rapport" / "index.html")
    assert page.body("refus") == [["Intitulé à revoir", "1"]]
    assert page.pairs("retenu-par-etat")["Refusée"] == "1"
    assert page.pairs("publie-totaux")["Actions publiées"] == "45"


# --------------------------------------------------------------------------- organisations


def test_one_page_and_csv_per_organisation(published: Engine, tmp_path: Path) -> None:
    files = write_reports(context(published, tmp_path))
    folder = tmp_path / "rapport" / "organismes"
    sirets = offer_sirets(published)
    assert len(sirets) == 20
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{s}.{ext}" for s in sirets for ext in ("html", "csv")
    )
    with open_session(published) as db:
        boards = {s: dashboard(db, s, TODAY) for s in sirets}
        waiting = dict(
            db.execute(
                select(Action.siret, func.count())
                .where(Action.etat == "en_cours_de_saisie")
                .group_by(Action.siret)
            ).all()
        )
    for siret in sorted(sirets):
        board = boards[siret]
        page = read_page(folder / f"{siret}.html")
        assert page.pairs("compteurs") == {
            COUNTER_LABELS[k]: str(n) for k, n in board["compteurs"].items()
        }
        assert page.pairs("compteurs")["Actions en cours de saisie"] == str(waiting.get(siret, 0))
        to_fix = page.body("a-corriger") if board["a_corriger"] else []
        assert [(r[0], r[2], r[5] or None, r[6]) for r in to_fix] == [
            (i["action"], i["regle"], i["champ"], i["message"]) for i in board["a_corriger"]
        ]
        rows = list(
            csv.reader(io.StringIO((folder / f"{siret}.csv").read_text("utf-8-sig")), delimiter=";")
        )
        assert rows[0][:3] == ["Rubrique", "Libellé", "Nombre"]
        assert [r[1:3] for r in rows[1:9]] == [
            [COUNTER_LABELS[k], str(n)] for k, n in board["compteurs"].items()
        ]
        assert sum(r[0] == "À corriger" for r in rows) == len(board["a_corriger"])
    # an organisation with things to fix, and one with rows rejected from its entry file
    fixing = read_page(folder / "02940916600039.html")
    assert len(fixing.body("a-corriger")) == 3
    assert {r[1] for r in fixing.body("a-corriger")} == {"En cours de saisie"}
    greta = read_page(folder / "65494103800048.html")
    assert [(r[1], r[2], r[5]) for r in greta.body("rejets")] == [
        ("Sessions", "19", "cle-dupliquee"),
        ("Sessions", "24", "cle-dupliquee"),
        ("Sessions", "25", "action-inconnue"),
    ]
    assert greta.body("livraisons")[0][0] == "saisie_65494103800048_20250301.xlsx"
    assert "rejets" not in read_page(folder / "13043818700010.html").tables
    by_path = {f.path: f for f in files}
    assert by_path["rapport/organismes/65494103800048.html"].records == 1 + 3
    assert by_path["rapport/organismes/65494103800048.csv"].records == 8 + 1 + 3


def test_a_siret_that_is_not_14_digits_never_names_a_file(
    published: Engine, tmp_path: Path
) -> None:
    with open_session(published, write=True) as db, db.begin():
        db.add(
            Formation(
                siret="../../evil",
                ref_formation="x",
                intitule_formation="x",
                created_at=NOW,
                updated_at=NOW,
                row_hash="0" * 64,
            )
        )
    release = tmp_path / "release"
    write_reports(context(published, release))
    assert [p.name for p in release.iterdir()] == ["rapport"]
    assert not list(tmp_path.rglob("*evil*"))
    names = [p.name for p in (release / "rapport" / "organismes").iterdir()]
    assert len(names) == 40 and all(n[:14].isdigit() for n in names)


# --------------------------------------------------------------------------- Kairos/Ouiform


def test_sessions_not_sent_to_kairos_are_listed_per_organisation(
    published: Engine, tmp_path: Path
) -> None:
    kairos = tmp_path / "kairos-ouiform"
    kairos.mkdir()
    missing = "Aucune information collective n'est saisie pour cette session."
    listed = {
        "55477415800121": [
            {"fas": "3-3-3", "intitule": "Soudeur", "raison": "aucune-information-collective",
             "message": missing},
            {"fas": "12-12-14", "intitule": "Cariste <b>",
             "raison": "informations-collectives-passees", "message": "Toutes passées."},
        ],
        "../<i>x</i>": [{"fas": "9-9-9", "intitule": "?", "raison": "?", "message": "?"}],
        "65494103800048": [],
    }  # fmt: skip
    (kairos / "non-diffusables.json").write_text(json.dumps(listed), encoding="utf-8")
    write_reports(context(published, tmp_path))
    index = read_page(tmp_path / "rapport" / "index.html")
    assert index.body("kairos-par-organisme") == [
        ["../<i>x</i>", "", "1", "? : 1"],
        [
            "55477415800121",
            "AFPA Pays de la Loire",
            "2",
            "aucune-information-collective : 1 ; informations-collectives-passees : 1",
        ],
    ]
    page = read_page(tmp_path / "rapport" / "organismes" / "55477415800121.html")
    assert page.body("kairos") == [  # in the file's order (FAS-code order)
        ["3-3-3", "Soudeur", "aucune-information-collective", missing],
        ["12-12-14", "Cariste <b>", "informations-collectives-passees", "Toutes passées."],
    ]
    rows = (tmp_path / "rapport" / "organismes" / "55477415800121.csv").read_text("utf-8-sig")
    assert "Non diffusable vers Kairos/Ouiform;Soudeur;;;;aucune-information-collective" in rows
    other = (tmp_path / "rapport" / "organismes" / "55477415800014.html").read_text("utf-8")
    assert "Aucune session non diffusable vers Kairos/Ouiform." in other
    assert sorted(p.name for p in (tmp_path / "rapport").iterdir()) == [
        "index.html",
        "organismes",
        "quarantaine.csv",
    ]


def test_an_unreadable_kairos_list_stops_the_release(published: Engine, tmp_path: Path) -> None:
    (tmp_path / "kairos-ouiform").mkdir()
    (tmp_path / "kairos-ouiform" / "non-diffusables.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ExportError, match="non-diffusables.json"):
        write_reports(context(published, tmp_path))


# --------------------------------------------------------------------------- quarantine


def test_quarantine_lists_every_stored_reject_ready_for_excel(
    published: Engine, tmp_path: Path
) -> None:
    add_hostile_delivery(published)
    files = write_reports(context(published, tmp_path))
    data = (tmp_path / "rapport" / "quarantaine.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["file", "sheet", "row", "column", "value", "reason", "message"]
    stored = stored_rejects(published)
    assert len(rows) - 1 == len(stored) == 7
    order = sorted(stored, key=lambda r: (r[0], r[2], r[3], r[4] or "", r[6]))
    expected = [
        [name, sheet, str(row), column or "", value or "", reason, message]
        for _, name, sheet, row, column, value, reason, message in order
    ]
    expected[-1][4] = "'" + FORMULA  # the formula is text for a spreadsheet
    assert rows[1:] == expected
    assert [f for f in files if f.path == "rapport/quarantaine.csv"][0].records == 7


# --------------------------------------------------------------------------- determinism


def test_the_same_store_gives_the_same_bytes(published: Engine, tmp_path: Path) -> None:
    add_hostile_delivery(published)
    first = write_reports(context(published, tmp_path / "a"))
    second = write_reports(context(published, tmp_path / "b"))
    again = write_reports(context(published, tmp_path / "a"))
    assert first == second == again
    for feed in first:
        assert (tmp_path / "a" / feed.path).read_bytes() == (
            tmp_path / "b" / feed.path
        ).read_bytes()
    written = sorted(
        p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.*")
    )
    assert written == [f.path for f in first]


# --------------------------------------------------------------------------- charts


def test_bar_chart_is_an_accessible_escaped_svg() -> None:
    svg = bar_chart("essai", "Titre <b>", [("<script>x</script>", 3), ("b" * 60, 0)])
    page = Page(str(svg))
    assert page.svgs[0]["attrs"]["role"] == "img"
    assert [c[0] for c in page.svgs[0]["children"][:2]] == ["title", "desc"]
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt; : 3" in svg
    assert "b" * 39 + "…" in svg  # a long label is shortened, whole in its tooltip
    assert "Aucune donnée" in bar_chart("vide", "Rien", [])
    with pytest.raises(ValueError):
        bar_chart('x" onload="alert(1)', "t", [])
