"""``python -m pipelines``: the ``catalogue`` command line (see ``pipelines.cli``)."""

from __future__ import annotations

from pipelines.cli import app, run

__all__ = ["app", "run"]

if __name__ == "__main__":
    run()
