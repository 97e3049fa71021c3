"""`framescope app` as a user starts it, and framescope as a wheel outside the repository.

- `framescope app` prints one line when the app is ready and stops cleanly on SIGTERM and SIGINT:
  afterwards nothing listens on its port and no Streamlit process is left.
- A wheel built from the repository, installed into a fresh virtualenv and run from a folder
  outside the repository, serves the seed study with `framescope app` and reproduces it with
  `framescope run --out DIR` (equal to the packaged study at stored precision) and
  `framescope report DIR`.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import psutil
import pytest

from framescope.artifacts import TABLES, table_differences

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "artifacts" / "seed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_app(framescope: list[str], port: int, cwd: Path, env: dict, *args: str) -> tuple[subprocess.Popen, str]:
    """Start `framescope app` and wait for its ready line; returns the process and the line."""
    proc = subprocess.Popen([*framescope, "app", *args, "--port", str(port)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 150
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if "ready at" in line:
            return proc, line.strip()
    proc.kill()
    raise AssertionError("framescope app printed no ready line:\n" + "".join(lines)[-3000:])


def stop_and_check(proc: subprocess.Popen, port: int, sig: int) -> None:
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "framescope app started no server process"
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 0
    time.sleep(0.5)
    assert not listening(port), f"something still listens on port {port} after {signal.Signals(sig).name}"
    left = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"Streamlit processes left running: {left}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_framescope_app_says_where_it_is_served_and_stops_on_a_signal(tmp_path, sig):
    port = free_port()
    cmd = [sys.executable, "-m", "framescope.cli"]
    proc, line = start_app(cmd, port, tmp_path, dict(os.environ), str(COMMITTED))
    try:
        assert line.startswith(f"framescope app ready at http://localhost:{port}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.status == 200
        # no file watcher: a changed source file must not unload the app's modules under running sessions
        server = [c.cmdline() for c in psutil.Process(proc.pid).children(recursive=True) if "streamlit" in c.cmdline()]
        assert server and all("--server.fileWatcherType=none" in c for c in server)
        stop_and_check(proc, port, sig)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_streamlit_run_from_the_repository_has_no_file_watcher():
    code = ("import streamlit.config as c; c.get_config_options(force_reparse=True); "
            "print(c.get_option('server.fileWatcherType'), c.get_option('server.runOnSave'))")
    r = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.split() == ["none", "False"], r.stderr


def test_framescope_app_refuses_a_busy_port_in_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "framescope.cli", "app", "--port", str(port)],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use: pass --port N"


# --------------------------------------------------------------------------- the wheel

@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh virtualenv holding framescope from a wheel built from this repository.

    The venv sees this interpreter's site-packages for the heavy dependencies (torch, bertopic…),
    but its own framescope comes first, so nothing is read from the repository's `src/`."""
    work = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(work / "dist"), str(ROOT)], cwd=work, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next((work / "dist").glob("framescope-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import framescope; print(framescope.__file__)"],
                           cwd=work, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), f"the venv imports framescope from {where}, not from the wheel"
    return venv


def test_the_wheel_carries_the_app_and_the_seed_study(wheel_venv):
    code = ("from framescope.app import ENTRY, STREAMLIT_CONFIG; from framescope.config import SEED_ROOT;"
            "import sys; paths = [ENTRY, STREAMLIT_CONFIG, SEED_ROOT / 'seeds/corpus/manifest.yaml',"
            "SEED_ROOT / 'seeds/codebook.yaml', SEED_ROOT / 'artifacts/seed/manifest.json',"
            "SEED_ROOT / 'artifacts/seed/sentences.parquet'];"
            "missing = [str(p) for p in paths if not p.is_file()]; print(missing); sys.exit(bool(missing))")
    r = subprocess.run([str(wheel_venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_wheel_serves_the_seed_study_outside_the_repository(wheel_venv, tmp_path):
    port = free_port()
    proc, line = start_app([str(wheel_venv / "bin" / "framescope")], port, tmp_path, dict(os.environ))
    try:
        assert "the seed study" in line
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=90_000)
            text = page.inner_text("[data-testid='stMain']")
            browser.close()
        assert "Global Times" in text or "global_times" in text, text[:1000]
        assert "Traceback" not in text and "Error" not in text.split("\n")[0]
        stop_and_check(proc, port, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_the_wheel_reproduces_the_seed_study_from_any_folder(wheel_venv, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    exe = str(wheel_venv / "bin" / "framescope")
    r = subprocess.run([exe, "--quiet", "run", "--out", "study"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    problems = []
    for name in (*TABLES,):
        problems += table_differences(pd.read_parquet(tmp_path / "study" / f"{name}.parquet"),
                                      pd.read_parquet(COMMITTED / f"{name}.parquet"), name)
    assert not problems, "\n".join(problems[:20])
    r = subprocess.run([exe, "--quiet", "report", "study"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "study" / "report.html").is_file() and (tmp_path / "study" / "report.md").is_file()
    assert not (tmp_path / "artifacts").exists()  # --out was honoured; nothing written elsewhere
