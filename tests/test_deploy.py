"""Deployment: ``prefect.yaml``, its registration on a real local Prefect server, and
``catalogue serve`` refusing to serve without one."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "prefect.yaml"
PREFECT = [sys.executable, "-m", "prefect"]
SERVER_STARTUP_S = 60


def _deployment() -> dict[str, Any]:
    document = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    (deployment,) = [d for d in document["deployments"] if d["name"] == "nightly"]
    return dict(deployment)


def test_prefect_yaml_names_the_nightly_flow_on_its_schedule() -> None:
    from prefect import Flow

    from pipelines import flows

    deployment = _deployment()
    module, _, name = deployment["entrypoint"].partition(":")
    target = getattr(importlib.import_module(module), name)
    assert isinstance(target, Flow) and target is flows.nightly and target.name == "nightly"
    assert deployment["schedules"] == [{"cron": "0 2 * * *", "timezone": "Europe/Paris"}]
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert deployment["work_pool"]["name"] == "local-process"
    env = deployment["work_pool"]["job_variables"]["env"]
    assert env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "pipelines"


def test_serve_nightly_serves_on_the_cron_in_its_timezone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    from pipelines import flows

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(flows.nightly, "serve", lambda **kwargs: calls.append(kwargs))
    flows.serve_nightly("30 3 * * 1-5", "Europe/Paris")
    (call,) = calls
    assert call["name"] == "nightly-serve"
    assert (call["schedule"].cron, call["schedule"].timezone) == ("30 3 * * 1-5", "Europe/Paris")
    limit = call["global_limit"]
    assert (limit.limit, limit.collision_strategy) == (1, ConcurrencyLimitStrategy.CANCEL_NEW)
    with pytest.raises(ValueError):
        flows.nightly_schedule("pas un cron", "Europe/Paris")


# --------------------------------------------------------------------------- catalogue serve


def _catalogue(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment without any Prefect API nor project setting, outputs in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CATALOGUE_"))}
    env |= {
        "CATALOGUE_OUTPUT_DIR": str(tmp_path / "out"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "400",  # one line per message, for the assertions
    }
    return env


def test_serve_refuses_ephemeral_mode(tmp_path: Path) -> None:
    started = time.monotonic()
    done = _catalogue(["serve"], _clean_env(tmp_path), tmp_path)
    assert done.returncode == 2, done.stderr
    assert "PREFECT_API_URL n'est pas défini" in done.stderr
    assert "prefect server start" in done.stderr
    assert time.monotonic() - started < 30
    # no temporary server was started: its database would be in the Prefect home
    assert not (tmp_path / "out" / ".prefect" / "prefect.db").exists()


def test_serve_refuses_an_unreachable_server_and_bad_schedules(tmp_path: Path) -> None:
    env = _clean_env(tmp_path) | {"PREFECT_API_URL": f"http://127.0.0.1:{_free_port()}/api"}
    down = _catalogue(["serve"], env, tmp_path)
    assert down.returncode == 2 and "le serveur Prefect ne répond pas" in down.stderr
    zone = _catalogue(["serve", "--timezone", "Mars/Olympus"], env, tmp_path)
    assert zone.returncode == 2 and "fuseau horaire inconnu" in zone.stderr
    cron = _catalogue(["serve", "--cron", "tous les soirs"], env, tmp_path)
    assert cron.returncode == 2 and "cron invalide" in cron.stderr


# --------------------------------------------------------------------------- a real server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group (it was started in its own session), then kill."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        process.wait(timeout=15)


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real ``prefect server start`` on 127.0.0.1 (its own home), stopped after the test.

    Yields the API URL and an environment pointing to it.
    """
    home = tmp_path / "prefect-home"
    home.mkdir()
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = _clean_env(tmp_path) | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_UI_ENABLED": "false",
    }
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the uvicorn children stop with it
    )
    try:
        deadline = time.monotonic() + SERVER_STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"prefect server exited ({process.returncode}): {_tail(tmp_path)}")
            try:
                if _get(f"{api}/health") is True:
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not ready in {SERVER_STARTUP_S} s: {_tail(tmp_path)}")
            time.sleep(0.5)
        yield api, env | {"PREFECT_API_URL": api}
    finally:
        _stop(process)
        log.close()


def _tail(tmp_path: Path) -> str:
    return (tmp_path / "server.log").read_text(errors="replace")[-2000:]


def _prefect(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*PREFECT, "--no-prompt", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.deploy
def test_prefect_deploy_registers_the_nightly_on_a_real_server(
    prefect_server: tuple[str, dict[str, str]],
) -> None:
    api, env = prefect_server
    _prefect(["work-pool", "create", "local-process", "--type", "process"], env)
    _prefect(["deploy", "--all"], env)
    deployment = _get(f"{api}/deployments/name/nightly/nightly")
    assert deployment["entrypoint"] == "pipelines.flows:nightly"
    assert deployment["work_pool_name"] == "local-process"
    assert not deployment["paused"]
    assert deployment["job_variables"]["env"]["PREFECT_LOGGING_EXTRA_LOGGERS"] == "pipelines"
    (schedule,) = [s["schedule"] for s in deployment["schedules"]]
    assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Europe/Paris")
    assert deployment["global_concurrency_limit"]["limit"] == 1
    strategy = deployment["concurrency_options"]["collision_strategy"]
    assert strategy == "CANCEL_NEW"
    (step,) = deployment["pull_steps"]
    workdir = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert Path(workdir).resolve() == ROOT
