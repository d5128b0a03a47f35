"""Notifications: a JSON POST to a webhook, a command given the JSON on stdin; never raising."""

from __future__ import annotations

import json
import logging
import shlex
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.notify import notify

EVENT = {"event": "catalogue-nightly", "run_id": "abc", "state": "failed", "counts": {"refused": 1},
         "message": "Publication refusée : é"}  # fmt: skip


class Receiver:
    """What a local webhook received: one ``(path, content type, JSON body)`` per request."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[tuple[str, str, Any]] = []
        self.status = 204


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A webhook on 127.0.0.1 (a free port), in a thread, shut down after the block."""
    received: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            received.requests.append((self.path, self.headers["Content-Type"], body))
            self.send_response(received.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook?token=secret")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def writer_command(target: Path, code: int = 0) -> str:
    """A command that writes its stdin to ``target`` and exits ``code``."""
    script = (
        f"import sys; open({str(target)!r}, 'wb').write(sys.stdin.buffer.read()); sys.exit({code})"
    )
    return shlex.join([sys.executable, "-c", script])


def test_the_event_is_posted_as_json() -> None:
    with receiver() as hook:
        notify(EVENT, command=None, url=hook.url)
    assert hook.requests == [("/hook?token=secret", "application/json; charset=utf-8", EVENT)]


def test_a_server_error_is_retried_once_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    with receiver() as hook, caplog.at_level(logging.WARNING, "pipelines.notify"):
        hook.status = 503
        notify(EVENT, command=None, url=hook.url)
    assert len(hook.requests) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "notification to 127.0.0.1 failed (HTTP 503), attempt 1",
        "notification to 127.0.0.1 failed (HTTP 503), attempt 2",
    ]
    assert "secret" not in caplog.text


def test_a_client_error_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    with receiver() as hook, caplog.at_level(logging.WARNING, "pipelines.notify"):
        hook.status = 404
        notify(EVENT, command=None, url=hook.url)
    assert len(hook.requests) == 1
    assert caplog.messages == ["notification refused by 127.0.0.1: HTTP 404"]


def test_an_unreachable_url_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    with receiver() as hook:
        url = hook.url  # the port is closed once the receiver is gone
    with caplog.at_level(logging.WARNING, "pipelines.notify"):
        notify(EVENT, command=None, url=url, timeout=2)
    assert len(caplog.records) == 2
    assert all("attempt" in m for m in caplog.messages)


def test_a_url_that_is_not_http_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "pipelines.notify"):
        notify(EVENT, command=None, url="file:///etc/passwd")
    assert caplog.messages == ["notification URL ignored: scheme 'file' is not http(s)"]


def test_the_command_gets_the_event_on_stdin(tmp_path: Path) -> None:
    target = tmp_path / "event.json"
    notify(EVENT, command=writer_command(target), url=None)
    assert json.loads(target.read_text(encoding="utf-8")) == EVENT


def test_the_command_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    notify(EVENT, command=f"{shlex.quote(sys.executable)} -c pass ; touch {marker}", url=None)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/nonexistent/notify-me", "could not run"),
        ("'unclosed", "unreadable"),
        (f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(3)'", "exited 3"),
        (f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(5)'", "timed out after 0.5 s"),
    ],
)
def test_a_failing_command_only_logs(
    command: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "pipelines.notify"):
        notify(EVENT, command=command, url=None, timeout=0.5)
    assert len(caplog.messages) == 1 and expected in caplog.messages[0]


def test_both_at_once(tmp_path: Path) -> None:
    target = tmp_path / "event.json"
    with receiver() as hook:
        notify(EVENT, command=writer_command(target), url=hook.url)
    assert [r[2] for r in hook.requests] == [EVENT]
    assert json.loads(target.read_text(encoding="utf-8")) == EVENT
