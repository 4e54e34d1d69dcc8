"""Reading a run's false-fact alignment result (RUN_DIR/evaluate/ffa.json) for tables and
reports, without loading models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adlens.store.rundir import RunDir, read_json

OUTPUT = "ffa.json"


def ffa_path(run_dir: Path | str) -> Path:
    return Path(run_dir) / "evaluate" / OUTPUT


def read_ffa(run_dir: Path | str) -> dict[str, Any] | None:
    """The run's ffa.json when it was made with the models the run's manifest names now (a run
    directory reused for other models keeps no stale answer); None otherwise."""
    path = ffa_path(run_dir)
    if not path.is_file():
        return None
    try:
        result = read_json(path)
    except (OSError, ValueError):
        return None
    if not isinstance(result, dict):
        return None
    models = (RunDir(run_dir).read_manifest().get("config") or {}).get("models") or {}
    made = result.get("models") or {}
    if any(made.get(k) != models.get(k) for k in ("base", "finetuned")):
        return None
    return result


def ffa_row(result: dict[str, Any]) -> dict[str, Any]:
    """The columns a table shows of an ffa.json: FFA of both models and their difference."""
    return {
        "ffa_base": (result.get("base") or {}).get("ffa"),
        "ffa_ft": (result.get("finetuned") or {}).get("ffa"),
        "ffa_diff": (result.get("difference") or {}).get("ffa"),
    }
