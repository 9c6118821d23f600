"""InfluxDB OSS 2.x: found on PATH or in the cache, else built from the Go module proxy.

The binary is built once by `scripts/build-influxd` into `~/.cache/vigil/influxd-<version>/`
and reused; each run starts its own server on a free loopback port with storage in the run dir.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import ServiceError
from vigil.services.process import free_port, log_tail, pid_alive, spawn, stop_pid

PREFERRED_VERSION = "2.7.12"
HEALTH_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 5.0
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build-influxd"
_VERSION_RE = re.compile(r"InfluxDB v?(\d+\.\d+\.\d+)")


def cache_dir() -> Path:
    return Path(os.environ.get("VIGIL_CACHE_DIR", Path.home() / ".cache" / "vigil"))


def binary_version(binary: Path) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - a path we found ourselves
            [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_RE.search(out)
    return match.group(1) if match else None


def find_influxd(version: str = PREFERRED_VERSION) -> tuple[Path, str] | None:
    """An influxd 2.x we can use without building: $VIGIL_INFLUXD, PATH, then the cache."""
    candidates: list[Path] = []
    if env := os.environ.get("VIGIL_INFLUXD"):
        candidates.append(Path(env))
    if on_path := shutil.which("influxd"):
        candidates.append(Path(on_path))
    candidates.append(cache_dir() / f"influxd-{version}" / "influxd")
    for candidate in candidates:
        if candidate.is_file() and (found := binary_version(candidate)) and found.startswith("2."):
            return candidate, found
    return None


def ensure_influxd(version: str = PREFERRED_VERSION) -> tuple[Path, str]:
    """Return (binary, version), building it with progress on stderr the first time."""
    found = find_influxd(version)
    if found:
        return found
    if not BUILD_SCRIPT.exists():
        raise ServiceError(
            f"no influxd 2.x found and no build script at {BUILD_SCRIPT}: "
            "put influxd 2.x on PATH or set VIGIL_INFLUXD"
        )
    print(  # noqa: T201 - the first build takes long; the user must see why
        f"vigil: building InfluxDB {version} from source once (20-40 min on 2 cores); "
        f"it is cached under {cache_dir()}",
        file=sys.stderr,
        flush=True,
    )
    done = subprocess.run(  # noqa: S603
        [shutil.which("bash") or "/bin/bash", str(BUILD_SCRIPT), version],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=False,
        env={**os.environ, "VIGIL_CACHE_DIR": str(cache_dir())},
    )
    if done.returncode == 3:
        raise ServiceError(
            "cannot build influxd: a toolchain is missing (see above); "
            "install go >= 1.23 and Rust, or put influxd 2.x on PATH"
        )
    if done.returncode != 0:
        raise ServiceError(f"building influxd {version} failed (exit {done.returncode}); see above")
    binary = Path(done.stdout.strip().splitlines()[-1])
    return binary, binary_version(binary) or version


@dataclass(frozen=True, slots=True)
class InfluxSetup:
    org: str = "vigil"
    bucket: str = "vitals"
    username: str = "vigil-admin"


def _http(method: str, url: str, body: object | None = None) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the harness
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


class InfluxDB:
    """One influxd; `stop()` then `start()` keeps its port, storage and token."""

    def __init__(
        self, run_dir: Path, setup: InfluxSetup | None = None, port: int | None = None
    ) -> None:
        self.binary, self.version = ensure_influxd()
        self.dir = run_dir / "influxdb"
        self.setup = setup or InfluxSetup()
        self.port = port or free_port()
        self.log_path = self.dir / "influxd.log"
        self.token = secrets.token_urlsafe(32)
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(self.binary),
            "run",
            f"--bolt-path={self.dir / 'influxd.bolt'}",
            f"--engine-path={self.dir / 'engine'}",
            f"--sqlite-path={self.dir / 'influxd.sqlite'}",
            f"--http-bind-address=127.0.0.1:{self.port}",
            "--reporting-disabled",
            "--log-level=warn",
        ]
        proc = spawn(argv, self.log_path, env={"INFLUXD_CONFIG_PATH": str(self.dir)})
        self._wait_healthy(proc.pid)
        self.pid = proc.pid
        self._onboard()
        return proc.pid

    def _wait_healthy(self, pid: int) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                raise ServiceError(
                    f"influxd exited during start; last log lines:\n{log_tail(self.log_path)}"
                )
            try:
                status, body = _http("GET", f"{self.url}/health")
            except OSError:
                status, body = 0, {}
            if status == 200 and body.get("status") == "pass":
                return
            time.sleep(0.1)
        raise ServiceError(
            f"influxd not healthy within {HEALTH_TIMEOUT_S:.0f} s; "
            f"last log lines:\n{log_tail(self.log_path)}"
        )

    def _onboard(self) -> None:
        status, body = _http("GET", f"{self.url}/api/v2/setup")
        if status == 200 and body.get("allowed") is False:
            return  # a restart on the same storage: org, bucket and token already exist
        status, body = _http(
            "POST",
            f"{self.url}/api/v2/setup",
            {
                "username": self.setup.username,
                "password": secrets.token_urlsafe(16),
                "org": self.setup.org,
                "bucket": self.setup.bucket,
                "token": self.token,
                "retentionPeriodSeconds": 0,
            },
        )
        if status != 201:
            raise ServiceError(f"influxd setup failed ({status}): {body}")
        auth = body.get("auth")
        # 2.9 hashes tokens by default: the answer carries the only usable copy.
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            self.token = auth["token"]

    def stop(self, *, kill: bool = False) -> None:
        if self.pid is not None:
            stop_pid(self.pid, timeout_s=30.0, kill=kill)
            self.pid = None
