"""Alembic migrations of the store (``schemas.store``).

Run them with ``pipelines.load.db.upgrade_store``, or ``alembic upgrade head`` from the repository
root for development (``alembic.ini`` there; the URL comes from ``-x url=...`` or the settings).
"""
