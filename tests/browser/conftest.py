"""Browser tests need Debian's chromium: skipped without it, failed without it in CI."""

from __future__ import annotations

import os

import pytest

from tests.browser.cdp import CHROMIUM


@pytest.fixture
def browser_needed() -> None:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium): browser test skipped"
        if os.environ.get("CATALOGUE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (CATALOGUE_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(reason)
