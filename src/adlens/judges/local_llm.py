"""A local OpenAI-compatible LLM server for the judges and the agent: llama.cpp, served by
llama-cpp-python, on a free loopback port.

`start` launches `python -m llama_cpp.server` in the background, waits until it answers
`/v1/models` and records its pid, port and model in a state file; `stop` ends it (SIGTERM, then
SIGKILL); `serve` is the same as a context manager that always stops the server. Judges reach it
with `judge.backend = "local"` (`--judge local`), which reads the state file.
"""

from __future__ import annotations

import contextlib
import importlib.util
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from adlens.errors import AdlensError
from adlens.judges.gguf_models import LOCAL_MODELS, gguf_path

INSTALL_HINT = "pip install 'llama-cpp-python[server]==0.3.36'  (or: pip install 'adlens[local]')"
HOST = "127.0.0.1"
DEFAULT_MODEL = "smollm2"
OTHER_GGUF_CTX = 8192  # context of a user's .gguf unless --n-ctx says otherwise
FUNCTION_CALLING_FORMAT = "chatml-function-calling"  # llama-cpp-python's grammar tool calls


@dataclass(frozen=True)
class LocalServer:
    """A started server, as recorded in its state file."""

    pid: int
    port: int
    model: str  # alias sent as the request's model
    gguf: str
    chat_format: str | None  # None: the GGUF's own chat template
    n_ctx: int
    log: str
    started: float
    version: str
    host: str = HOST

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def identity(self) -> str:
        """Stable across restarts (the port is not): what the judge cache and run hashes use."""
        return f"llama-cpp-python {self.version}/{self.model}/{self.chat_format or 'gguf-template'}"

    def alive(self) -> bool:
        """The recorded process still runs and is a llama_cpp server (not a reused pid)."""
        import psutil

        try:
            proc = psutil.Process(self.pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            return "llama_cpp.server" in " ".join(proc.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def answers(self, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=timeout) as resp:
                return resp.status == 200 and "data" in json.loads(resp.read())
        except (OSError, ValueError):
            return False


def state_path(path: Path | str | None = None) -> Path:
    """The state file: `path`, else $ADLENS_LLM_STATE, else <adlens cache>/llm/server.json."""
    if path is not None:
        return Path(path)
    if os.environ.get("ADLENS_LLM_STATE"):
        return Path(os.environ["ADLENS_LLM_STATE"])
    from adlens.store.asset_cache import cache_dir

    return cache_dir() / "llm" / "server.json"


def read_state(path: Path | str | None = None) -> LocalServer | None:
    file = state_path(path)
    try:
        return LocalServer(**json.loads(file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return None  # a half-written or foreign file: treat as no server


def installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "uvicorn"))


def llama_cpp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        return "unknown"


def default_threads() -> int:
    """All cores but one. llama.cpp's threads wait for each other at every step, so one thread
    that another process preempts stalls them all: on 2 busy cores, 2 threads answered 2-10x
    slower than 1."""
    return max(1, (os.cpu_count() or 2) - 1)


def free_port() -> int:
    """A port that is free now (the OS picks it); the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def start(
    model: str = DEFAULT_MODEL,
    *,
    port: int | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    chat_format: str | None = None,
    wait_s: float = 180.0,
    state: Path | str | None = None,
) -> LocalServer:
    """Start the server in the background and return once it answers; record it in the state
    file. One server per state file: a running one is an error (stop it first). n_ctx None: a
    bundled model's trained context, else OTHER_GGUF_CTX."""
    if not installed():
        raise AdlensError(f"the local LLM server needs llama-cpp-python: {INSTALL_HINT}")
    file = state_path(state)
    current = read_state(file)
    if current is not None and current.alive():
        raise AdlensError(
            f"a local LLM server is already running (pid {current.pid}, {current.base_url}): "
            "`adlens llm stop` first"
        )
    gguf = gguf_path(model)
    spec = LOCAL_MODELS.get(model)
    alias = spec.alias if spec else gguf.stem
    n_ctx = n_ctx or (spec.n_ctx if spec else OTHER_GGUF_CTX)
    file.parent.mkdir(parents=True, exist_ok=True)
    log_path = file.with_name(file.stem + ".log")
    # A port chosen by the OS may be taken before the server binds it: try again on another.
    for attempt in range(3):
        chosen = port or free_port()
        server = _launch(gguf, alias, chosen, n_ctx, threads, chat_format, log_path)
        try:
            _wait_until_answering(server, wait_s, log_path)
            _first_completion(server, log_path)
            _write_state(file, server)
            return server
        except _PortTaken:
            if port is not None or attempt == 2:
                raise AdlensError(f"port {chosen} is taken: {_tail(log_path, 1)}") from None
        except BaseException:  # Ctrl-C while waiting: leave no unrecorded server behind
            _terminate(server.pid)
            raise
    raise AssertionError("unreachable")


class _PortTaken(Exception):
    pass


def _launch(
    gguf: Path,
    alias: str,
    port: int,
    n_ctx: int,
    threads: int | None,
    chat_format: str | None,
    log_path: Path,
) -> LocalServer:
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf),
        "--model_alias", alias,
        "--host", HOST,
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(threads or default_threads()),
        "--logits_all", "false",  # its default computes logits for every prompt token: slow
    ]  # fmt: skip
    if chat_format:
        cmd += ["--chat_format", chat_format]
    with log_path.open("wb") as log:
        # its own session: a Ctrl-C in the terminal that started it does not stop it
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    return LocalServer(
        pid=proc.pid,
        port=port,
        model=alias,
        gguf=str(gguf),
        chat_format=chat_format,
        n_ctx=n_ctx,
        log=str(log_path),
        started=time.time(),
        version=llama_cpp_version(),
    )


def _wait_until_answering(server: LocalServer, wait_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if server.answers(timeout=1.0):
            return
        if not server.alive():
            _reap(server.pid)
            tail = _tail(log_path)
            if "address already in use" in tail.lower():
                raise _PortTaken
            raise AdlensError(
                f"the local LLM server exited while starting: {tail} (log: {log_path})"
            )
        time.sleep(0.25)
    _terminate(server.pid)
    raise AdlensError(
        f"the local LLM server did not answer within {wait_s:.0f} s; stopped it (log: {log_path})"
    )


def _first_completion(server: LocalServer, log_path: Path) -> None:
    """One tiny chat completion: a server that answers /models but crashes on inference (a
    llama.cpp build for the wrong CPU) is caught here, not in the middle of a run."""
    body = json.dumps(
        {"model": server.model, "messages": [{"role": "user", "content": "Say OK."}],
         "max_tokens": 2, "temperature": 0}
    ).encode()  # fmt: skip
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            if resp.status == 200:
                return
            problem = f"HTTP {resp.status}"
    except (OSError, ValueError) as err:
        problem = str(err)
    alive = server.alive()
    _terminate(server.pid)
    what = "failed its first chat completion" if alive else "crashed on its first completion"
    raise AdlensError(
        f"the local LLM server {what} ({problem}); see {log_path}. If it crashed, rebuild "
        "llama-cpp-python for a generic CPU: CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install "
        "--no-cache-dir --force-reinstall llama-cpp-python"
    )


def _write_state(file: Path, server: LocalServer) -> None:
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(server), indent=2), encoding="utf-8")
    tmp.replace(file)


def _reap(pid: int) -> None:
    """Collect our own exited child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _gone(pid: int) -> bool:
    import psutil

    _reap(pid)
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is still there after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.1)


def stop(state: Path | str | None = None) -> LocalServer | None:
    """Stop the recorded server (None if none was recorded) and remove the state file."""
    file = state_path(state)
    server = read_state(file)
    if server is not None and server.alive():
        _terminate(server.pid)
    file.unlink(missing_ok=True)
    return server


def running(state: Path | str | None = None) -> LocalServer:
    """The recorded server, checked to be alive and answering; else a one-line AdlensError."""
    server = read_state(state)
    if server is None or not server.alive():
        raise AdlensError("no local LLM server is running: start one with `adlens llm start`")
    if not server.answers(timeout=5.0):
        raise AdlensError(
            f"the local LLM server (pid {server.pid}, {server.base_url}) does not answer; "
            f"see {server.log}, or `adlens llm stop` and start it again"
        )
    return server


def status(state: Path | str | None = None) -> dict[str, Any]:
    """What the state file records and whether the server is alive and answering."""
    server = read_state(state)
    if server is None:
        return {"running": False}
    alive = server.alive()
    return {
        "running": alive,
        "answers": alive and server.answers(),
        **asdict(server),
        "base_url": server.base_url,
    }


@contextlib.contextmanager
def serve(model: str = DEFAULT_MODEL, **kw: Any) -> Iterator[LocalServer]:
    """A server for the duration of a `with` block; stopped on exit, also on errors."""
    file = state_path(kw.get("state"))
    server = start(model, **kw)
    try:
        yield server
    finally:
        stop(file)
