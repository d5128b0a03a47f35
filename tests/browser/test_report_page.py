"""The run's report in a real browser (headless Chromium, from the folder): it renders, its
charts are there, its links to the organisations' pages work, and a screenshot is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from pipelines.load.db import open_session
from pipelines.load.kairos_feed import write_kairos
from pipelines.load.reports import write_reports
from tests.browser.cdp import chromium
from tests.browser.test_catalogue_page import ARTEFACTS
from tests.load.contexts import release

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the page, not the store
def test_the_report_renders_with_its_charts_and_links(
    browser_needed: None, published: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_session(published) as db:
        context = release(tmp_path / "release", published, db)
        write_kairos(context)
        write_reports(context)
    index = tmp_path / "release" / "rapport" / "index.html"
    with chromium(tmp_path / "profile") as page:
        page.open(index.as_uri())
        assert page.wait_for("document.readyState === 'complete'")
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert "Rapport" in page.evaluate("document.querySelector('h1').textContent")
        charts = page.evaluate(
            "[...document.querySelectorAll('svg[role=img]')]"
            ".map(s => [s.querySelector('title').textContent, s.getBoundingClientRect().height])"
        )
        assert len(charts) >= 3 and all(title and height > 0 for title, height in charts)
        links = page.evaluate(
            "[...document.querySelectorAll('a[href^=\"organismes/\"]')].map(a => a.href)"
        )
        assert links and all(Path(link.removeprefix("file://")).is_file() for link in links)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = page.screenshot(ARTEFACTS / "rapport.png")
        page.open(links[0])
        assert page.wait_for("document.querySelector('h1') !== null")
        assert "Tableau de bord" in page.evaluate("document.body.innerText")
    with capsys.disabled():
        print(f"\nscreenshot of the report: {screenshot}")  # noqa: T201
