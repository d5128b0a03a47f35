"""The catalogue page in a real browser: headless Chromium, opened from the folder (file://).

Needs ``/usr/bin/chromium`` (Debian package ``chromium``); skipped without it, unless
``CATALOGUE_REQUIRE_BROWSER=1`` (CI), where a missing browser fails the test. A screenshot is
kept in ``var/test-artefacts/`` (or ``$CATALOGUE_TEST_ARTEFACTS``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pipelines.load.catalogue_feed import PAGE_COLUMNS, write_catalogue
from pipelines.load.db import open_session
from pipelines.load.feeds import ReleaseContext
from pipelines.load.published import iter_published
from tests.browser.cdp import Page, chromium

pytestmark = pytest.mark.browser

TODAY = dt.date(2025, 6, 1)
COMMUNE = "Saint-Herblain"
ARTEFACTS = Path(
    os.environ.get("CATALOGUE_TEST_ARTEFACTS")
    or Path(__file__).resolve().parents[2] / "var" / "test-artefacts"
)
#: the fields the page's free text searches (catalogue.js)
SEARCHED = ("fas", "intitule", "organisme", "commune", "code_postal", "territoire", "lot",
            "programme", "formacodes", "certifinfo")  # fmt: skip
COUNT = "document.getElementById('compte').textContent"


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def searched_text(session: dict[str, Any]) -> str:
    values = [session[k] for k in SEARCHED]
    return fold(" ".join(" ".join(v) if isinstance(v, list) else str(v or "") for v in values))


def shown(page: Page) -> list[str]:
    return list(page.evaluate("[...document.querySelectorAll('#lignes tr')].map(r => r.innerText)"))


def choose(page: Page, select: str, value: str) -> None:
    """Pick an option of a drop-down list, as a change by the user would."""
    page.evaluate(
        f"{{ const s = document.getElementById({json.dumps(select)});"
        f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change')); }}"
    )


def wait_count(page: Page, expected: str) -> str:
    return str(page.wait_for(f"{COUNT}.startsWith({json.dumps(expected)}) && {COUNT}"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the page, not the store
def test_search_and_filter_offline_with_the_keyboard(
    browser_needed: None, published: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_session(published) as db:
        context = ReleaseContext(
            run_id="test",
            export_date=TODAY,
            generated_at=dt.datetime(2025, 6, 1, 2, tzinfo=dt.UTC),
            folder=tmp_path / "release",
            previous=None,
            offer=lambda: iter_published(db),
            session=lambda: open_session(published),
            today=TODAY,
        )
        write_catalogue(context)
    folder = tmp_path / "release" / "catalogue"
    text = (folder / "offre.js").read_text(encoding="utf-8")
    data = json.loads(text.removeprefix("window.CATALOGUE_OFFRE = ").removesuffix(";\n"))
    sessions = [dict(zip(PAGE_COLUMNS, s, strict=True)) for s in data["sessions"]]
    current = [s for s in sessions if s["statut"] != "terminee"]
    in_commune = [s for s in current if fold(COMMUNE) in searched_text(s)]
    assert 0 < len(in_commune) < len(current) < len(sessions)

    with chromium(tmp_path / "profile") as page:
        page.open((folder / "index.html").as_uri())
        assert page.evaluate("document.documentElement.lang") == "fr"
        wait_count(page, f"{len(current)} sessions trouvées sur {len(sessions)}")
        assert len(shown(page)) == min(25, len(current))

        # every control has a label, and the keyboard reaches them in order
        assert page.evaluate(
            "[...document.querySelectorAll('input, select')].every(c => c.labels.length > 0)"
        )
        page.evaluate("document.activeElement.blur()")
        order: list[str] = []
        while len(order) < 20 and order[-1:] != ["f-reinitialiser"]:
            page.press("Tab", 9)
            focused = page.evaluate("document.activeElement.id || document.activeElement.className")
            if order[-1:] != [focused]:  # a date field has a stop per part (day, month, year)
                order.append(focused)
        assert order == [
            *("evitement", "f-texte", "f-programme", "f-territoire", "f-formacode"),
            *("f-debut-min", "f-debut-max", "f-terminees", "f-reinitialiser"),
        ]

        # type a commune in the free text
        page.evaluate("document.getElementById('f-texte').focus()")
        page.type_text(COMMUNE)
        expected = f"{len(in_commune)} session{'s' if len(in_commune) > 1 else ''} trouvée"
        wait_count(page, expected)
        rows = shown(page)
        assert len(rows) == len(in_commune) and all(COMMUNE in row for row in rows)
        assert (
            in_commune[0]["intitule"] in rows[0] and f"Code FAS {in_commune[0]['fas']}" in rows[0]
        )
        assert (
            page.evaluate("document.getElementById('compte').getAttribute('aria-live')") == "polite"
        )
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = page.screenshot(ARTEFACTS / "catalogue-page.png")
        with capsys.disabled():
            print(f"\nscreenshot of the catalogue page: {screenshot}")  # noqa: T201

        # the reset button (keyboard: Enter), then a programme, with the ended sessions shown
        page.evaluate("document.getElementById('f-reinitialiser').focus()")
        page.press("Enter", 13)
        wait_count(page, f"{len(current)} sessions")
        programme = str(sessions[0]["programme"])
        of_programme = [s for s in sessions if s["programme"] == programme]
        choose(page, "f-programme", programme)
        page.evaluate("document.getElementById('f-terminees').click()")
        wait_count(page, f"{len(of_programme)} session")

        # every session, ended ones included: two pages, the next one by keyboard
        choose(page, "f-programme", "")
        wait_count(page, f"{len(sessions)} sessions")
        page.evaluate("document.getElementById('page-suivante').focus()")
        page.press("Enter", 13)
        page.wait_for("document.getElementById('page-courante').textContent === 'Page 2 sur 2'")
        assert len(shown(page)) == len(sessions) - 25
