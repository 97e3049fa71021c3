"""Serve the Streamlit app as a child process: ready line, clean stop, packaged settings.

`framescope app` runs `streamlit run framescope/app/main.py` from the installed package (so a
wheel works like the repository), passes the app's Streamlit settings
(`framescope/app/streamlit.toml`) as command-line flags (so they apply from any working folder),
waits until the server answers its health check, and prints one line with the address. SIGINT
and SIGTERM are passed on to Streamlit, and the command returns only when the server is gone,
so nothing keeps listening on the port.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Callable

from framescope.app import ENTRY, STREAMLIT_CONFIG
from framescope.errors import InputError

STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


def streamlit_flags(config: Path = STREAMLIT_CONFIG) -> list[str]:
    """The settings of a Streamlit config.toml as `--section.key=value` flags."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    flags = []
    for section, values in data.items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def port_free(address: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def serve(study: Path | None, port: int = 8501, address: str = "127.0.0.1",
          say: Callable[[str], None] = print) -> int:
    """Run the app until it stops or is stopped; returns Streamlit's exit code (0 on a signal)."""
    if not port_free(address, port):
        raise InputError(f"port {port} on {address} is already in use: pass --port N")
    env = dict(os.environ)
    if study is not None:
        env["FRAMESCOPE_STUDY"] = str(study)
    # Server-side folders the Corpus page may read: the folder the user started from.
    env.setdefault("FRAMESCOPE_DATA_ROOTS", str(Path.cwd()))
    cmd = [sys.executable, "-m", "streamlit", "run", str(ENTRY), *streamlit_flags(),
           f"--server.port={port}", f"--server.address={address}", "--server.headless=true"]
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    stopping = {"signal": None}

    def stop(signum, _frame):
        stopping["signal"] = signum
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    ready, code = False, None
    try:
        host = "localhost" if address in ("127.0.0.1", "localhost") else address
        url = f"http://{host}:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while child.poll() is None and stopping["signal"] is None and not _healthy(url):
            if time.monotonic() > deadline:
                say(f"error: the app did not answer within {STARTUP_TIMEOUT_S:.0f} s; stopping it")
                stop(signal.SIGTERM, None)
                break
            time.sleep(0.2)
        ready = child.poll() is None and stopping["signal"] is None
        if ready:
            what = str(study) if study is not None else "the seed study"
            say(f"framescope app ready at {url} ({what}); Ctrl+C to stop")
        stop_deadline = None
        while (code := child.poll()) is None:
            if stopping["signal"] is not None:
                stop_deadline = stop_deadline or time.monotonic() + STOP_TIMEOUT_S
                if time.monotonic() > stop_deadline:
                    child.kill()  # did not stop in time after the signal
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
    if not ready:
        return 1 if code in (0, None) else code
    return 0 if stopping["signal"] is not None else code
