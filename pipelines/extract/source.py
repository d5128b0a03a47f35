"""What the pipeline knows of a delivery before reading its content: name, year, checksum."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

#: ``prf_<year>_<yyyymmdd>`` (``.xlsx``, ``.xlsm`` or a folder of CSV files).
RE_EXTRACTION_NAME = re.compile(r"^prf_(?P<year>\d{4})_(?P<date>\d{8})(?:\.(?:xlsx|xlsm))?$", re.I)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DeliveryInfo:
    """Identity of one delivery, as received.

    Attributes:
        path: where it was read from (a file, or a folder of CSV files).
        file_name: its name as received (shown to people, never used to build a path).
        kind: ``"xlsx"`` or ``"csv"``.
        sha256: digest of the content (for a folder: of its CSV files, by canonical name).
        size_bytes: total size.
        name_year: the year in the name when it follows ``prf_<year>_<yyyymmdd>``.
        delivery_date: the date in the name, when it follows the pattern.
    """

    path: Path
    file_name: str
    kind: str
    sha256: str
    size_bytes: int
    name_year: int | None
    delivery_date: dt.date | None


def parse_name(file_name: str) -> tuple[int | None, dt.date | None]:
    """Read the year and the delivery date from ``prf_<year>_<yyyymmdd>``.

    Returns:
        ``(year, date)``, each None when the name does not follow the pattern.
    """
    match = RE_EXTRACTION_NAME.match(file_name)
    if not match:
        return None, None
    return int(match["year"]), name_date(match["date"])


def name_date(yyyymmdd: str) -> dt.date | None:
    """The date a file name carries as ``yyyymmdd``, None when it is no date (``20251399``)."""
    try:
        return dt.datetime.strptime(yyyymmdd, "%Y%m%d").date()
    except ValueError:
        return None


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_files(files: dict[str, Path]) -> str:
    """Return one SHA-256 over several files, by their canonical names (sorted)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(sha256_file(files[name]).encode())
    return digest.hexdigest()


#: An organisation's entry file: ``saisie_<siret>_<yyyymmdd>.xlsx|.xlsm|.xml``.
RE_ENTRY_NAME = re.compile(r"^saisie_(?P<siret>\d{14})_(?P<date>\d{8})\.(?:xlsx|xlsm|xml)$", re.I)


def parse_entry_name(file_name: str) -> tuple[str | None, dt.date | None]:
    """Read the organisation's SIRET and the date from ``saisie_<siret>_<yyyymmdd>`` (here, not in
    ``extract.entries``, so that reading names needs neither pandas nor pandera)."""
    match = RE_ENTRY_NAME.match(file_name)
    if not match:
        return None, None
    return match["siret"], name_date(match["date"])
