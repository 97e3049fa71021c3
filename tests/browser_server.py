"""Start and stop a real `streamlit run app.py` server for the browser tests (and by hand).

    python tests/browser_server.py STUDY_DIR   # serves until Ctrl-C, prints the URL

The server listens on loopback only, on a free port, headless, and is stopped by its PID.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path
    study: Path | None = None  # the study folder it serves

    def stop(self) -> None:
        """Stop the server (its own process group) by PID: SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start(study: Path, log: Path, timeout: float = 90.0, env: dict | None = None) -> Server:
    """`streamlit run app.py` on a free loopback port with FRAMESCOPE_STUDY=study; wait for health."""
    port = free_port()
    full_env = {**os.environ, "FRAMESCOPE_STUDY": str(study), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(proc, f"http://127.0.0.1:{port}", log, Path(study))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s; see {log}")


if __name__ == "__main__":
    srv = start(Path(sys.argv[1]).resolve(), Path("/tmp/framescope-streamlit.log"))
    print(srv.url, "pid", srv.proc.pid, flush=True)
    try:
        srv.proc.wait()
    except KeyboardInterrupt:
        srv.stop()
