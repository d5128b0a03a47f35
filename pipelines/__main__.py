"""``python -m pipelines``: the ``catalogue`` command line (see ``pipelines.cli``)."""

from __future__ import annotations

from pipelines.cli import run

if __name__ == "__main__":
    run()
