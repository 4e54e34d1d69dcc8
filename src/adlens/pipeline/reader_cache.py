"""One reader's output kept on disk with the hash it was computed from, so that a rerun with the
same inputs loads it instead of rerunning the reader."""

from __future__ import annotations

from pathlib import Path

from adlens.core.readers import ReaderOutput
from adlens.results.readings import Reading
from adlens.store.rundir import read_json, read_jsonl, write_json, write_jsonl


class ReaderCache:
    """read/readers/<name>/: readings.jsonl, raw.jsonl, files/<file> and done.json (written
    last: without it, or with another hash, nothing here is used)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self, digest: str) -> ReaderOutput | None:
        """The saved output when it was computed from `digest`, else None."""
        try:
            done = read_json(self.path / "done.json")
            if done.get("config_hash") != digest:
                return None
            readings = [Reading.model_validate(r) for r in read_jsonl(self.path / "readings.jsonl")]
            raw = [Reading.model_validate(r) for r in read_jsonl(self.path / "raw.jsonl")]
            files = {f: read_jsonl(self.path / "files" / f) for f in done["files"]}
        except (OSError, ValueError, KeyError, AttributeError):
            return None  # missing or damaged: computed again
        return ReaderOutput(readings, raw, files)

    def save(self, out: ReaderOutput, digest: str) -> None:
        (self.path / "done.json").unlink(missing_ok=True)
        write_jsonl(self.path / "readings.jsonl", [r.to_json() for r in out.readings])
        write_jsonl(self.path / "raw.jsonl", [r.to_json() for r in out.raw])
        for file, rows in out.files.items():
            write_jsonl(self.path / "files" / file, rows)
        write_json(self.path / "done.json", {"config_hash": digest, "files": sorted(out.files)})
