"""Run directories: atomic writes, manifests with versions and config hashes, cached stages.

A stage's result is reused only when the hash of the config that produced it matches; anything
else is recomputed. Every file is written to a temporary name and renamed into place, so a
killed run never leaves a file that looks complete but is not.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from adlens.errors import AdlensError

# Manifest fields that describe one command as a whole (see RunDir.update_manifest).
REPLACED = ("models", "dataset", "config", "config_hash")
LIBRARIES = ("adlens", "torch", "transformers", "peft", "accelerate", "datasets", "safetensors")


def file_mode() -> int:
    """Permissions a plain open() would give (temporary files are created private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write: Any) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: Any) -> None:
    """Write indented JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


def save_tensors(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None
) -> None:
    """Write tensors as safetensors, atomically."""
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_json(path: Path) -> Any:
    """Parse a UTF-8 JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a jsonl file that write_jsonl wrote; [] when it does not exist."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def config_hash(config: Any) -> str:
    """sha256 of the canonical JSON of a config (dicts sorted, so key order never matters)."""
    blob = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def dist_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str]:
    """Python's and the key libraries' versions, for the manifest."""
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        out[lib] = dist_version(lib) or "not installed"
    return out


def check_writable(directory: Path) -> None:
    """Fail early, before any heavy work and without creating anything, if `directory` could not
    be created or written."""
    directory = directory.expanduser().resolve()
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise AdlensError(
            f"Cannot write to output directory '{directory}': '{existing}' is not a writable "
            "directory."
        )


class RunDir:
    """A run directory: manifest.json, summary.json and one sub-directory per stage."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def stage(self, name: str) -> Path:
        return self.path / name

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    def read_manifest(self) -> dict[str, Any]:
        return read_json(self.manifest_path) if self.manifest_path.exists() else {}

    def stage_is_fresh(self, name: str, digest: str) -> bool:
        """True if the stage finished with this config hash (its done-marker is written last)."""
        return self.done_hash(name) == digest

    def mark_done(self, name: str, digest: str, info: dict[str, Any] | None = None) -> None:
        write_json(
            self.stage(name) / "done.json",
            {"config_hash": digest, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), **(info or {})},
        )

    # ------------------------------------------------------------------ lineage
    # summary.json names the config hash of each core stage it was built from (`stages`);
    # every result derived from it records the hashes it depends on (`basis`). Whatever reads
    # a run directory shows a result only when its basis is the current summary's.

    def invalidate(self, *names: str) -> None:
        """Forget that these stages finished (their inputs changed): they are recomputed, and
        nothing reads their files as current."""
        for name in names:
            (self.stage(name) / "done.json").unlink(missing_ok=True)

    def done_hash(self, name: str) -> str | None:
        """The config hash a stage finished with (None: not finished)."""
        return _json_field(self.stage(name) / "done.json", "config_hash")

    def summary_stages(self) -> dict[str, str]:
        """The stage hashes summary.json names ({} when there is none, or an older one)."""
        stages = _json_field(self.summary_path, "stages")
        return stages if isinstance(stages, dict) else {}

    @staticmethod
    def basis(stages: dict[str, str] | None, *names: str) -> dict[str, Any]:
        """What a result derived from a summary of these `stages` depends on: their hashes."""
        return {name: (stages or {}).get(name) for name in names}

    @staticmethod
    def is_current(result: Any, stages: dict[str, str] | None) -> bool:
        """True when a derived result (a dict with `basis`) was made from these summary stages.
        Results and summaries written before either carried hashes are taken as current."""
        basis = result.get("basis") if isinstance(result, dict) else None
        if stages is None or not isinstance(basis, dict):
            return True
        return all(stages.get(name) == digest for name, digest in basis.items())

    def steer_is_current(self, stages: dict[str, str] | None) -> bool:
        """True when the files in steer/ belong to a checked summary of these `stages` (see
        results.summary.load_summary): its finished steer stage, or one under way from its
        readers."""
        if stages is None:  # older run directory: as it is
            return True
        return "steer" in stages or self.steer_in_progress(stages)

    def steer_in_progress(self, stages: dict[str, str] | None) -> bool:
        """True when steer/ holds a partial stage started from the readers of a summary of
        these `stages` (the manifest names the hashes of the command that started it)."""
        planned = self.read_manifest().get("config_hash") or {}
        started = _json_field(self.stage("steer") / "progress.json", "config_hash")
        stages = stages or {}
        return (
            started is not None
            and started == planned.get("steer")
            and planned.get("read") == stages.get("read")
        )

    def update_manifest(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into manifest.json; REPLACED fields are replaced, not merged, so a
        run directory reused for another config or pair keeps nothing of the old one."""
        manifest = self.read_manifest()
        manifest.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
        manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        manifest["versions"] = library_versions()
        manifest["command"] = " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])
        for key, value in fields.items():
            if (
                key not in REPLACED
                and isinstance(value, dict)
                and isinstance(manifest.get(key), dict)
            ):
                manifest[key] = {**manifest[key], **value}
            else:
                manifest[key] = value
        write_json(self.manifest_path, manifest)
        return manifest


def _json_field(path: Path, key: str) -> Any:
    """`key` of the JSON object in `path`; None when the file is missing, unreadable or not an
    object (a marker half-written by an older version is no marker)."""
    try:
        data = read_json(path) if path.is_file() else None
    except (ValueError, OSError):
        return None
    return data.get(key) if isinstance(data, dict) else None
