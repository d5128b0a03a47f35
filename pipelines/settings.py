"""Runtime configuration: the ONE Settings class, read from ``CATALOGUE_*`` env vars."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def check_timezone(value: str) -> str:
    """The IANA timezone name, stripped (``ValueError`` in French if unknown)."""
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"fuseau horaire inconnu : {value!r} (ex. Europe/Paris)") from None
    return name


class Settings(BaseSettings):
    """Runtime configuration. Every field is env var ``CATALOGUE_<NAME>`` (see ``.env.example``)."""

    model_config = SettingsConfigDict(env_prefix="CATALOGUE_", env_file=".env", extra="ignore")

    output_dir: Path = Field(
        default=Path("var"),
        description="Working folder: SQLite store, archive, quarantine, Prefect home, releases.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default: SQLite file <output_dir>/catalogue.db.",
    )
    mass_withdrawal_threshold: float = Field(
        default=0.20,
        ge=0,
        le=1,
        description="Share of a year's lots or actions a delivery may withdraw before it is stopped.",
    )
    max_file_mb: int = Field(
        default=200, ge=1, description="Largest delivery accepted (MB, uncompressed files)."
    )
    max_uncompressed_mb: int = Field(
        default=1024,
        ge=1,
        description="Largest uncompressed content of a workbook (MB), against zip bombs.",
    )
    releases_keep: int = Field(
        default=5, ge=1, description="How many releases ``catalogue publish`` keeps."
    )
    log_level: str = Field(default="WARNING", description="Log level of the CLI's console.")
    inbox_dir: Path | None = Field(
        default=None,
        description="Folder the nightly picks new deliveries from; default: <output_dir>/inbox.",
    )
    nightly_latest_start: str | None = Field(
        default=None,
        description=(
            "Latest start of a nightly (HH:MM, Europe/Paris): a nightly starting from then until "
            "midnight is skipped, unless forced (``catalogue run --force``). Default: never late."
        ),
    )
    auto_approve: bool = Field(
        default=False,
        description="The nightly validates every action waiting for validation after ingesting.",
    )
    notify_command: str | None = Field(
        default=None,
        description="Command run on a failed or partial nightly, the event as JSON on stdin.",
    )
    notify_url: str | None = Field(
        default=None,
        description="http(s) URL the event of a failed or partial nightly is POSTed to as JSON.",
    )

    nightly_cron: str = Field(
        default="0 2 * * *",
        description="Schedule of ``catalogue serve`` (cron, read in ``nightly_timezone``).",
    )
    nightly_timezone: str = Field(
        default="Europe/Paris",
        description="IANA timezone of ``nightly_cron`` (without it Prefect would read UTC).",
    )

    @field_validator("nightly_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("nightly_latest_start")
    @classmethod
    def _check_hhmm(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if not match:
            raise ValueError(f"heure attendue au format HH:MM, pas {value!r}")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("notify_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://", value.strip(), re.I):
            raise ValueError("l'URL de notification doit commencer par http:// ou https://")
        return value.strip()

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (the SQLite default lives in the output folder)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.output_dir / 'catalogue.db').resolve()}"

    @property
    def archive_dir(self) -> Path:
        """Where every delivery is kept as received, by SHA-256."""
        return self.output_dir / "archive"

    @property
    def quarantine_dir(self) -> Path:
        """Where the rejected rows of each delivery are written as CSV."""
        return self.output_dir / "quarantaine"

    @property
    def inbox_path(self) -> Path:
        """The nightly's inbox (``inbox_dir``, default ``<output_dir>/inbox``)."""
        return self.inbox_dir or self.output_dir / "inbox"

    @property
    def prefect_home(self) -> Path:
        """Prefect's home in ephemeral mode, kept inside the output folder."""
        return self.output_dir / ".prefect"


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once from the environment (and ``.env``)."""
    return Settings()
