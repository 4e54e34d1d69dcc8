"""What an agent may learn from a run directory: reader tokens, steered and unsteered samples,
positions and attention sinks. Nothing here exposes model paths, the dataset name or anything
else from the manifest that could name the finetune; `sensitive_strings` lists those, so error
messages can be scrubbed before the agent sees them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adlens.core.activations import attention_sinks
from adlens.errors import AdlensError
from adlens.results.readings import Reading
from adlens.results.summary import Summary, load_summary
from adlens.store.rundir import RunDir, read_jsonl


@dataclass
class RunData:
    """The parts of a run directory the agent's overview and tools draw on."""

    path: Path
    summary: Summary
    manifest: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, run_dir: Path | str) -> RunData:
        rd = RunDir(Path(run_dir))
        summary = load_summary(rd)
        samples = []
        if rd.steer_is_current(summary.stages):  # never another config's steering samples
            samples = read_jsonl(rd.path / "steer" / "samples.jsonl")
            if not any(not r.get("steered") for r in samples):
                samples += read_jsonl(rd.path / "steer" / "unsteered_samples.jsonl")
        return cls(rd.path, summary, rd.read_manifest(), samples)

    # ------------------------------------------------------------------ positions

    @property
    def layers(self) -> list[int]:
        return list(self.summary.layers)

    @property
    def positions(self) -> list[int]:
        return list(self.summary.positions)

    @property
    def bos_at_0(self) -> bool:
        return self.summary.bos_at_0

    @property
    def n_layers(self) -> int | None:
        return self.summary.models.n_layers

    def sinks(self, layer: int) -> set[int]:
        """Attention-sink positions (see adlens.core.activations.attention_sinks)."""
        per = self.summary.norms.per_position.get("base")
        if not per or layer not in self.layers:
            return set()
        return attention_sinks(per[self.layers.index(layer)], self.positions)

    def position_note(self, layer: int, pos: int) -> str:
        """' (BOS token, attention sink)' and the like; '' for an ordinary position."""
        notes = []
        if pos == 0 and self.bos_at_0:
            notes.append("BOS token")
        if pos in self.sinks(layer):
            notes.append("attention sink: its difference often reads as noise")
        return f" ({'; '.join(notes)})" if notes else ""

    # ------------------------------------------------------------------ readers

    def readers(self) -> list[str]:
        """The run's readers, in the order they ran."""
        return self.summary.reader_names()

    def lists(self, reader: str, variant: str = "diff") -> list[Reading]:
        """A reader's readings of `variant`, the strongest first where the reader ranks them
        (weight directions by singular value), else in run order."""
        found = self.summary.readings(reader=reader, variant=variant)
        return sorted(found, key=lambda e: -float((e.model_extra or {}).get("singular_value") or 0))

    def contrastive_samples(self) -> list[dict[str, Any]]:
        """The contrastive-decoding reader's amplified samples (read/contrastive_samples.jsonl)."""
        rows = read_jsonl(self.path / "read" / "contrastive_samples.jsonl")
        return [r for r in rows if float(r.get("alpha", -1.0)) > 0]

    def variants(self, reader: str) -> list[str]:
        return sorted({e.variant for e in self.summary.readings(reader=reader)})

    def entry(
        self, reader: str, layer: int, position: int, variant: str = "diff"
    ) -> Reading | None:
        """The reader's reading; for a reader with heads (the logit lens) the finetuned head's
        (else any head's)."""
        found = self.summary.readings(reader, variant, layer, position)
        found.sort(key=lambda e: not e.matches(head="finetuned"))
        return found[0] if found else None

    # ------------------------------------------------------------------ steering

    def steered_positions(self) -> list[dict[str, Any]]:
        """[{layer, position, strength}] of the positions with steered samples."""
        overview = self.summary.steer.positions if self.summary.steer else []
        out = {(p.layer, p.position): float(p.strength or 0.0) for p in overview}
        for r in self.samples:
            if r.get("steered") and (r.get("layer"), r.get("position")) not in out:
                out[(r["layer"], r["position"])] = float(r.get("strength") or 0.0)
        return [{"layer": k[0], "position": k[1], "strength": s} for k, s in sorted(out.items())]

    def strength(self, layer: int, position: int) -> float | None:
        for p in self.steered_positions():
            if (p["layer"], p["position"]) == (layer, position):
                return p["strength"]
        return None

    def sample_rows(
        self, steered: bool, layer: int | None = None, position: int | None = None
    ) -> list[dict[str, Any]]:
        """Samples in prompt order, then sample order."""
        rows = [
            r
            for r in self.samples
            if bool(r.get("steered")) == steered
            and (not steered or (r.get("layer") == layer and r.get("position") == position))
        ]
        return sorted(rows, key=lambda r: (r.get("prompt_index", 0), r.get("sample_index", 0)))

    def prompts(self) -> list[str]:
        seen: dict[int, str] = {}
        for r in self.samples:
            seen.setdefault(int(r.get("prompt_index", 0)), str(r.get("prompt", "")))
        return [seen[i] for i in sorted(seen)]

    # ------------------------------------------------------------------ models

    def models_config(self) -> dict[str, Any]:
        """How the run loaded its pair (from the manifest): base, finetuned, revisions."""
        cfg = dict((self.manifest.get("config") or {}).get("models") or {})
        info = self.manifest.get("models") or {}
        out = {
            "base": cfg.get("base") or info.get("base"),
            "finetuned": cfg.get("finetuned") or info.get("finetuned"),
            "dtype": cfg.get("dtype", "auto"),
            "base_revision": cfg.get("base_revision") or info.get("base_revision"),
            "finetuned_revision": cfg.get("finetuned_revision") or info.get("finetuned_revision"),
            "trust_remote_code": bool(cfg.get("trust_remote_code", False)),
            "device_map": cfg.get("device_map"),
            "adapter_base": cfg.get("adapter_base"),
        }
        if not out["finetuned"]:
            raise AdlensError(
                f"{self.path}/manifest.json names no finetuned model; rerun `adlens run`."
            )
        return out

    def sensitive_strings(self) -> list[str]:
        """Model paths and ids, dataset names: strings that could name the finetune, for
        scrubbing error texts. Longest first, so a path goes before its parts."""
        found: set[str] = set()

        def add(value: Any, parts: bool = True) -> None:
            if not isinstance(value, str) or len(value) < 3:
                return
            found.add(value)
            if parts:  # the folder names closest to the weights, unless generic words
                names = [p for p in re.split(r"[\\/]", value) if p]
                found.update(
                    n for n in names[-2:] if len(n) >= 5 and n.lower() not in GENERIC_NAMES
                )

        models = self.manifest.get("models") or {}
        cfg_models = (self.manifest.get("config") or {}).get("models") or {}
        for source in (models, cfg_models, self.summary.models.model_dump()):
            add(source.get("finetuned"))
            add(source.get("base"), parts=False)
            add(source.get("adapter_base"), parts=False)
        dataset = self.manifest.get("dataset") or {}
        add(dataset.get("name") if isinstance(dataset, dict) else dataset)
        add(self.summary.dataset)
        return sorted(found, key=len, reverse=True)


# Folder names that say nothing about a finetune (and appear in ordinary error messages).
GENERIC_NAMES = frozenset(
    "models model organisms organism adapter adapters checkpoints checkpoint outputs output "
    "runs adlens weights final lora cache snapshots merged finetuned".split()
)
