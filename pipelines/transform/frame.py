"""A validated extraction: the accepted rows of each sheet, ready for the store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipelines.extract.source import DeliveryInfo
from pipelines.transform.report import Report


@dataclass
class ValidatedExtraction:
    """The outcome of reading and validating one extraction of the Région.

    Attributes:
        info: identity of the delivery (name, checksum, year in the name).
        year: the frame's year (the programmes' ``annee``).
        frames: per sheet (``programmes``, ``organismes``, ``lots``, ``actions``), the accepted
            rows only, with canonical columns and parsed values (see ``schemas.extraction``);
            the index is the row number as Excel shows it.
        rejected_keys: per sheet, the natural keys of rows that are in the file but were
            rejected: the store keeps their previous version (they are not withdrawn).
        report: the validation report (errors, counts, warnings).
    """

    info: DeliveryInfo
    year: int
    frames: dict[str, pd.DataFrame]
    report: Report
    rejected_keys: dict[str, set[object]] = field(default_factory=dict)
