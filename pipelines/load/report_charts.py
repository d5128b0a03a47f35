"""Charts of the reports, drawn on the server as inline SVG: no script, no CDN, opens offline.

Each chart is a horizontal bar chart, accessible as an image (``role="img"``) named by its
``<title>`` and described by a ``<desc>`` that lists every value; the page shows the same
numbers in a table next to it. Every text is escaped; the output is deterministic (fixed
geometry, numbers written with one decimal at most).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markupsafe import Markup

#: Geometry, in SVG user units (the chart scales to its container's width).
WIDTH = 640
BAR_HEIGHT = 22
GAP = 8
PADDING = 8
CHAR_WIDTH = 7.2  # average width of a character at 13 px
MAX_LABEL_CHARS = 40
VALUE_SPACE = 64  # room for the number right of the longest bar
_CHART_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def _number(n: int) -> str:
    """``12345`` -> ``12 345`` (narrow no-break space, as French writes thousands)."""
    return f"{n:,}".replace(",", "\u202f")


def _coordinate(x: float) -> str:
    return f"{x:.1f}".removesuffix(".0")


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int]]) -> Markup:
    """Draw a horizontal bar chart.

    Args:
        chart_id: unique in the page (``[a-z][a-z0-9-]*``): prefixes the ids of the title and
            description.
        title: what the chart shows (its accessible name).
        bars: ``(label, value)`` in the order to draw them (top to bottom); values ≥ 0. Long
            labels are shortened with « … » (the full label stays in the bar's tooltip).

    Returns:
        The ``<svg>`` element, safe to insert as is in an HTML page.

    Raises:
        ValueError: ``chart_id`` is not a valid id, or a value is negative.
    """
    if not _CHART_ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r}: expected [a-z][a-z0-9-]*")
    if any(value < 0 for _, value in bars):
        raise ValueError(f"chart {chart_id}: negative value")
    title_id, desc_id = f"{chart_id}-titre", f"{chart_id}-description"
    if bars:
        summary = " ; ".join(f"{label} : {_number(value)}" for label, value in bars) + "."
    else:
        summary = "Aucune donnée."
    label_width = PADDING + CHAR_WIDTH * min(
        max((len(_short(label)) for label, _ in bars), default=10), MAX_LABEL_CHARS
    )
    plot_width = WIDTH - label_width - VALUE_SPACE - 2 * PADDING
    top = max((value for _, value in bars), default=0) or 1
    height = PADDING * 2 + max(len(bars), 1) * (BAR_HEIGHT + GAP) - GAP
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="graphique" role="img" '
            'aria-labelledby="{t} {d}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            'preserveAspectRatio="xMinYMin meet">'
        ).format(t=title_id, d=desc_id, w=WIDTH, h=_coordinate(height)),
        Markup('<title id="{}">{}</title>').format(title_id, title),
        Markup('<desc id="{}">{}</desc>').format(desc_id, summary),
    ]
    if not bars:
        parts.append(
            Markup('<text x="{}" y="{}" class="vide">Aucune donnée</text>').format(
                PADDING, _coordinate(PADDING + BAR_HEIGHT * 0.7)
            )
        )
    for rank, (label, value) in enumerate(bars):
        y = PADDING + rank * (BAR_HEIGHT + GAP)
        width = plot_width * value / top
        x = PADDING + label_width
        text_y = _coordinate(y + BAR_HEIGHT * 0.7)
        parts.append(
            Markup(
                '<g class="barre"><title>{label} : {n}</title>'
                '<text x="{lx}" y="{ty}" text-anchor="end" class="libelle">{short}</text>'
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#2f5f98"/>'
                '<text x="{vx}" y="{ty}" class="valeur">{n}</text></g>'
            ).format(
                label=label,
                n=_number(value),
                short=_short(label),
                lx=_coordinate(x - PADDING),
                ty=text_y,
                x=_coordinate(x),
                y=_coordinate(y),
                w=_coordinate(max(width, 1.0 if value else 0.0)),
                h=BAR_HEIGHT,
                vx=_coordinate(x + width + 6),
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("\n").join(parts)
