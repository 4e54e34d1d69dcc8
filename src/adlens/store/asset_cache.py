"""The offline-asset cache: `cache_dir()` and building into it safely.

Each build writes into a temporary path in the same directory and `os.replace`s it into place,
so an interrupted build never leaves a half-written asset that a later call would mistake for a
finished one. `assets.json` in the cache dir records what was built, from what, and when.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from adlens.store.rundir import write_json

STALE_TMP_SECONDS = 3600  # a temp path this old belongs to a build that was killed


def cache_dir() -> Path:
    """`$ADLENS_CACHE` if set, else `~/.cache/adlens` (created on demand)."""
    env = os.environ.get("ADLENS_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "adlens"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_stale_tmp(parent: Path) -> None:
    now = time.time()
    for p in parent.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(p) if p.is_dir() else p.unlink()


@contextlib.contextmanager
def _staged(final: Path, is_dir: bool) -> Iterator[Path]:
    """Yield a temp path beside `final`; move it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(final.parent)
    # Not mkstemp/mkdtemp: those make private (0600/0700) paths; the cache should follow umask.
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir() if is_dir else tmp.touch()
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError:
            # Another process finished the same directory first; keep theirs.
            if not (is_dir and final.is_dir()):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


def _record(name: str, path: Path, **info: object) -> None:
    """Add an entry to `assets.json` in the cache dir (rewritten atomically)."""
    index_path = cache_dir() / "assets.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    index[name] = {
        "path": str(path),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **info,
    }
    write_json(index_path, index)


def _status(message: str):
    """A rich spinner on stderr for the slow steps (silent when stderr is not a terminal)."""
    from rich.console import Console

    return Console(stderr=True).status(message)
