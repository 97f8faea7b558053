"""Run an engine as a supervised child process: health-checked, restarted if it dies, stopped with us."""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.llm.engines import Endpoint, Engine, ExternalEngine, select_engine
from assistant.settings import Settings

ProgressFn = Callable[[str, float | None], None]

log = logging.getLogger(__name__)


class EngineFailed(RuntimeError):
    """The engine did not come up or could not be kept up; the message carries its log's tail."""


def is_healthy(endpoint: Endpoint, timeout: float = 2.0) -> bool:
    """True when the server answers `GET /v1/models` with the model list."""
    try:
        with urllib.request.urlopen(_models_request(endpoint), timeout=timeout) as response:
            return response.status == 200 and "data" in json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _models_request(endpoint: Endpoint) -> urllib.request.Request:
    """`GET /v1/models`, with the key when the server asks for one (a vLLM started with a key)."""
    key = endpoint.api_key.get_secret_value() if endpoint.api_key else None
    return urllib.request.Request(
        f"{endpoint.base_url}/models", headers={"Authorization": f"Bearer {key}"} if key else {}
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (for an engine started beside another one)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class ManagedServer:
    """One engine process. `start()` returns once it answers; a watchdog restarts it if it dies."""

    def __init__(
        self,
        engine: Engine,
        log_dir: Path,
        *,
        startup_timeout: float = 600.0,
        max_restarts: int = 5,
        check_every: float = 1.0,
    ) -> None:
        self.engine = engine
        self.endpoint = engine.endpoint()
        self.log_path = log_dir / f"engine-{engine.name}-{engine.port}.log"
        self.startup_timeout = startup_timeout
        self.max_restarts = max_restarts
        self.check_every = check_every
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watchdog: threading.Thread | None = None
        # Called after the watchdog restarted the engine (e.g. to have it read the system prompt again).
        self.on_restart: list[Callable[[], None]] = []

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> Endpoint:
        if port_in_use(self.engine.settings.host, self.engine.port):
            raise EngineFailed(
                f"port {self.engine.port} on {self.engine.settings.host} is already in use; "
                "stop what runs there or set SHOPLENS_LLM_PORT"
            )
        self._spawn()
        self._wait_ready()
        self._watchdog = threading.Thread(target=self._watch, name="engine-watchdog", daemon=True)
        self._watchdog.start()
        atexit.register(self.stop)
        return self.endpoint

    def healthy(self) -> bool:
        return self._process is not None and self._process.poll() is None and is_healthy(self.endpoint)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._terminate()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=5)

    def __enter__(self) -> ManagedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = self.engine.command()
        log.info("starting %s: %s", self.engine.name, " ".join(command))
        with open(self.log_path, "ab") as log_file:
            log_file.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
            self._process = subprocess.Popen(
                command,
                env=self.engine.env(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopping it stops its workers too
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._stopping.is_set():  # stop() asked during a restart: let it have the lock
                raise EngineFailed(f"{self.engine.name}: stopped while starting")
            if self._process is None or self._process.poll() is not None:
                code = self._process.returncode if self._process else None
                raise EngineFailed(
                    f"{self.engine.name} exited with code {code} while starting:\n{self._log_tail()}"
                )
            if is_healthy(self.endpoint):
                log.info("%s ready at %s", self.engine.name, self.endpoint.base_url)
                return
            time.sleep(0.5)
        self._terminate()
        raise EngineFailed(
            f"{self.engine.name} did not answer within {self.startup_timeout:.0f}s:\n{self._log_tail()}"
        )

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_every):
            process = self._process
            if process is None or process.poll() is None:
                continue
            with self._lock:
                if self._stopping.is_set():
                    return
                if self.restarts >= self.max_restarts:
                    log.error("%s died %d times; giving up", self.engine.name, self.restarts)
                    return
                self.restarts += 1
                log.warning(
                    "%s exited with code %s; restarting (%d/%d)",
                    self.engine.name,
                    process.returncode,
                    self.restarts,
                    self.max_restarts,
                )
                time.sleep(min(2 ** (self.restarts - 1), 30))  # back off if it keeps dying
                try:
                    self._spawn()
                    self._wait_ready()
                except EngineFailed as exc:
                    log.error("restart failed: %s", exc)
                    continue
            for hook in self.on_restart:
                try:
                    hook()
                except Exception:  # a failing hook must not stop the watchdog
                    log.exception("after the restart of %s", self.engine.name)

    def _terminate(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def _log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class RunningEngine:
    endpoint: Endpoint
    server: ManagedServer | None  # None when someone else runs it (external, or already serving)


def served_models(endpoint: Endpoint) -> list[str]:
    try:
        with urllib.request.urlopen(_models_request(endpoint), timeout=3) as response:
            return [m["id"] for m in json.loads(response.read()).get("data", [])]
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return []


@contextmanager
def start_engine(settings: Settings, progress: ProgressFn | None = None) -> Iterator[RunningEngine]:
    """The configured engine, answering: reuses one that already serves the model on the LLM port
    (e.g. `shoplens model serve` in another terminal), else prepares and supervises a new one."""
    engine = select_engine(settings)
    endpoint = engine.endpoint()  # an external server is probed here: it answers, or says why not
    if isinstance(engine, ExternalEngine):
        yield RunningEngine(endpoint, None)
        return
    if is_healthy(endpoint):
        models = served_models(endpoint)
        if endpoint.model not in models:
            raise EngineFailed(
                f"port {engine.port} already serves {', '.join(models) or 'something else'}, not {endpoint.model}; "
                "stop it or set SHOPLENS_LLM_PORT"
            )
        log.info("using the %s server already running at %s", endpoint.model, endpoint.base_url)
        yield RunningEngine(endpoint, None)
        return
    engine.prepare(progress)
    server = ManagedServer(engine, settings.data_dir / "logs")
    server.start()
    try:
        yield RunningEngine(endpoint, server)
    finally:
        server.stop()
