"""Notifications of a run's outcome: a webhook (JSON POST) and/or a command (JSON on stdin).

Both are off by default (``CATALOGUE_NOTIFY_URL``, ``CATALOGUE_NOTIFY_COMMAND``). A notification
never fails the run: every problem is logged as a warning. The event carries the run's id,
state, counts and message, never contact details (no e-mail, no phone number).
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

logger = logging.getLogger(__name__)

#: POST attempts on a network error or a 5xx answer (one retry).
URL_ATTEMPTS = 2


def notify(
    event: dict[str, Any], *, command: str | None, url: str | None, timeout: float = 10
) -> None:
    """Send ``event`` to the webhook and/or the command; never raises.

    Args:
        event: the JSON-ready event.
        command: a command line (split with :func:`shlex.split`, run without a shell), given
            the event as JSON on its standard input; None: none.
        url: an ``http(s)`` URL the event is POSTed to (``application/json``); None: none.
        timeout: seconds allowed to each attempt and to the command.
    """
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if url:
        _post(url, body, timeout)
    if command:
        _run(command, body, timeout)


def _post(url: str, body: bytes, timeout: float) -> None:
    parsed = urllib.parse.urlsplit(url)
    where = parsed.hostname or "?"  # never log the whole URL: it may carry a token
    if parsed.scheme not in ("http", "https"):
        logger.warning("notification URL ignored: scheme %r is not http(s)", parsed.scheme)
        return
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": "catalogue-pdl-notify"},
    )  # fmt: skip
    for attempt in range(1, URL_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                logger.info("notification sent to %s (HTTP %d)", where, answer.status)
                return
        except urllib.error.HTTPError as error:
            error.close()
            if error.code < 500:
                logger.warning("notification refused by %s: HTTP %d", where, error.code)
                return
            problem = f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            problem = type(error).__name__
        logger.warning("notification to %s failed (%s), attempt %d", where, problem, attempt)


def _run(command: str, body: bytes, timeout: float) -> None:
    try:
        argv = shlex.split(command)
    except ValueError as error:
        logger.warning("notification command unreadable: %s", error)
        return
    if not argv:
        return
    try:
        done = subprocess.run(  # noqa: S603
            argv, input=body, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        logger.warning("notification command %s timed out after %g s", argv[0], timeout)
        return
    except OSError as error:
        logger.warning("notification command %s could not run: %s", argv[0], error)
        return
    if done.returncode:
        logger.warning("notification command %s exited %d", argv[0], done.returncode)
    else:
        logger.info("notification command %s done", argv[0])
