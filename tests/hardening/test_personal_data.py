"""Personal data never reaches the logs: an end-to-end run of the ``catalogue`` command in
subprocesses, every output captured, scanned for every e-mail and phone number of the samples.

Scanned: stdout and stderr of each command (``-v``: INFO logs, wide console so nothing wraps),
Prefect's home (its database holds the flow runs' logs and artifacts), the runs' JSON
artefacts and the reports kept beside refused files. Not scanned: the store, the archive (the
files as received) and the published feeds, which carry organisations' contacts by design.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.hardening.mutate import ENTRY_WORKBOOKS, EXTRACTION, LHEO_ENTRY

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Path(sys.executable).with_name("catalogue")
SAMPLES = (EXTRACTION, *ENTRY_WORKBOOKS, LHEO_ENTRY)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")


def sample_texts() -> list[str]:
    """Every text cell of the sample workbooks, and the LHEO sample's text."""
    texts = [LHEO_ENTRY.read_text(encoding="utf-8")]
    for path in (EXTRACTION, *ENTRY_WORKBOOKS):
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                texts += [str(v) for v in row if v is not None]
        book.close()
    return texts


def contacts() -> tuple[set[str], set[str]]:
    """The e-mails and the phone numbers (digits only) found in the samples."""
    emails, phones = set(), set()
    for text in sample_texts():
        emails |= {m.lower() for m in EMAIL.findall(text)}
        phones |= {re.sub(r"\D", "", m).replace("33", "0", 1) if m.startswith("+") else
                   re.sub(r"\D", "", m) for m in PHONE.findall(text)}  # fmt: skip
    return emails, phones


def leaks(text: str, emails: set[str], phones: set[str]) -> set[str]:
    """The sample contacts present in ``text`` (phones whatever their separators)."""
    lowered = text.lower()
    found = {e for e in emails if e in lowered}
    for phone in phones:
        spaced = r"[\s.-]?".join(re.escape(d) for d in phone[1:])
        if re.search(rf"(?:\+33[\s.-]?(?:\(0\))?|(?<!\d)0)[\s.-]?{spaced}(?!\d)", text):
            found.add(phone)
    return found


def catalogue(out: Path, *args: str, **env: str) -> str:
    """Run ``catalogue -v ARGS`` in a subprocess; return its stdout and stderr."""
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("CATALOGUE_", "PREFECT_"))
    }  # fmt: skip
    environment.update(
        CATALOGUE_OUTPUT_DIR=str(out), PREFECT_HOME=str(out / ".prefect"), COLUMNS="10000",
        PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONWARNINGS="ignore", **env,
    )  # fmt: skip
    done = subprocess.run(
        [str(CATALOGUE), "-v", *args], cwd=out.parent, env=environment, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode in (0, 1), (args, done.returncode, done.stderr[-2000:])
    return f"$ catalogue {' '.join(args)}\n{done.stdout}\n{done.stderr}"


def artefacts(out: Path) -> str:
    """Prefect's home (database, logs), the runs' JSON, the reports beside refused files."""
    chunks = []
    for path in sorted(out.rglob("*")):
        inside = out / ".prefect" in path.parents or path.parent.name in ("runs", "refuses")
        if path.is_file() and inside:
            chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(chunks)


def test_the_samples_hold_contacts_to_look_for() -> None:
    emails, phones = contacts()
    assert len(emails) >= 10 and len(phones) >= 10, (emails, phones)
    assert leaks("écrire à " + sorted(emails)[0].upper(), emails, phones)
    phone = sorted(phones)[0]
    assert leaks(f"tél. {phone[:2]} {phone[2:4]}.{phone[4:6]}-{phone[6:]}", emails, phones)


@pytest.mark.parametrize("flow", [pytest.param(False, id="cli"),
                                  pytest.param(True, id="flow", marks=[pytest.mark.flow, pytest.mark.slow])])  # fmt: skip
def test_no_contact_of_the_samples_reaches_the_logs(tmp_path: Path, flow: bool) -> None:
    emails, phones = contacts()
    option = ["--flow"] if flow else []
    logs = []
    out = tmp_path / "ingest"
    logs.append(catalogue(out, "ingest", *option, *(str(p) for p in SAMPLES)))
    logs.append(catalogue(out, "approve", "--all-valid", "--by", "hardening"))
    logs.append(catalogue(out, "publish"))
    logs.append(catalogue(out, "status"))
    logs.append(catalogue(out, "runs"))
    nightly = tmp_path / "nightly"
    inbox = nightly / "inbox"
    inbox.mkdir(parents=True)
    for path in SAMPLES:
        shutil.copyfile(path, inbox / path.name)
    (inbox / "saisie_12345678900000_20250301.xlsx").write_bytes(ENTRY_WORKBOOKS[0].read_bytes())
    logs.append(catalogue(nightly, "run", *option, CATALOGUE_AUTO_APPROVE="true"))
    logs.append(catalogue(nightly, "runs"))
    assert (nightly / "inbox" / "refuses").is_dir()  # the unknown organisation's file
    if flow:
        assert (out / ".prefect").is_dir() and (nightly / ".prefect").is_dir()
    text = "\n".join(logs) + artefacts(out) + artefacts(nightly)
    assert "prf_2025_20250115.xlsx" in text and "INFO" in text  # the logs were captured
    assert leaks(text, emails, phones) == set()
