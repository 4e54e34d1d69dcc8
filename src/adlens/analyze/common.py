"""What every analysis shares: the run it reads, its models (loaded once, only when needed),
its reference documents, cached results and the figure helper.

An analysis writes RUN_DIR/analyze/<name>.json with "title", "caption" and "figure" (a plotly
figure as a dict; the HTML report renders it) beside its numbers, and "config_hash": the hash of
the run's collect stage and the analysis' own settings. A result whose hash matches is reused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from adlens import __version__
from adlens.core.activations import ActivationDiff, attention_sinks
from adlens.core.config import RunConfig
from adlens.core.data import TextSource, iter_documents
from adlens.core.models import ModelPair
from adlens.core.tokenization import TokenizedDocs, tokenize_documents
from adlens.core.vocab import count_domain
from adlens.errors import AdlensError
from adlens.results.readings import TokenProb
from adlens.results.summary import Summary, load_summary
from adlens.store.rundir import RunDir, config_hash, read_json, write_json

log = logging.getLogger(__name__)

ANALYZE_DIR = "analyze"


@dataclass
class RunContext:
    """A finished run directory, opened for analysis. `pair()` loads the models on first use."""

    path: Path
    manifest: dict[str, Any]
    config: RunConfig
    diff: ActivationDiff
    summary: Summary  # empty when the run has no summary.json yet
    _pair: ModelPair | None = field(default=None, repr=False)

    @property
    def collect_hash(self) -> str:
        """The hash of the activations on disk (the manifest names the latest command's)."""
        return str(RunDir(self.path).done_hash("collect") or "")

    @property
    def read_hash(self) -> str:
        stages = self.summary.stages or self.manifest.get("config_hash") or {}
        return str(stages.get("read", ""))

    @property
    def out_dir(self) -> Path:
        return self.path / ANALYZE_DIR

    @property
    def stages(self) -> RunDir:
        """Sub-stages of the analyses (their own done markers) under RUN_DIR/analyze/."""
        return RunDir(self.out_dir)

    @property
    def dataset(self) -> TextSource:
        return self.config.collect.dataset

    def pair(self) -> ModelPair:
        if self._pair is None:
            from adlens.pipeline.stages import load_pair

            log.info("loading %s and %s", self.config.models.base, self.config.models.finetuned)
            self._pair = load_pair(self.config.models)
        return self._pair

    def layer(self, layer: int | None) -> int:
        """A collected layer (default: the first)."""
        if layer is None:
            return self.diff.layers[0]
        if layer not in self.diff.layers:
            raise AdlensError(f"Layer {layer} was not collected (collected: {self.diff.layers}).")
        return layer

    def sinks(self, layer: int) -> set[int]:
        li = self.diff.layers.index(layer)
        return attention_sinks(self.diff.pos_norm_base[li].tolist(), self.diff.labels)

    def best_position(self, layer: int) -> int:
        """The position Patchscope read best (highest scale-choice score), sinks left out; the
        first non-sink position when the run has no Patchscope entries."""
        sinks = self.sinks(layer)
        candidates = [p for p in self.diff.labels if p not in sinks and p >= 0]
        candidates = candidates or list(self.diff.labels)
        scored = {
            r.position: r.scale_score or 0.0
            for r in self.summary.readings("patchscope", "diff", layer)
            if r.position in candidates
        }
        if not scored:
            return candidates[0]
        return max(scored, key=lambda p: (scored[p], -p))

    def documents(self, positions: int, n_docs: int) -> TokenizedDocs:
        """The run's reference documents (same source, same order), cut to `positions` tokens."""
        return tokenize_documents(
            self.pair().tokenizer,
            iter_documents(self.dataset),
            positions=positions,
            n_docs=n_docs,
        )

    def digest(self, name: str, version: int, params: dict[str, Any]) -> str:
        return config_hash(
            {
                "analysis": name,
                "version": version,
                "adlens": __version__,
                "collect": self.collect_hash,
                "params": params,
            }
        )

    def lookup(
        self, name: str, version: int, params: dict[str, Any], force: bool
    ) -> tuple[str, dict[str, Any] | None]:
        """The analysis' config hash and its cached result (None when stale or forced). A forced
        rerun also drops the stage's done marker, so partial work is redone, not resumed."""
        digest = self.digest(name, version, params)
        if force:
            (self.stages.stage(name) / "done.json").unlink(missing_ok=True)
            return digest, None
        return digest, self.cached(name, digest)

    def cached(self, name: str, digest: str) -> dict[str, Any] | None:
        path = self.out_dir / f"{name}.json"
        if path.is_file():
            result = read_json(path)
            if result.get("config_hash") == digest:
                log.info("%s: cached (config %s)", name, digest)
                return {**result, "cached": True}
        return None

    def save(self, name: str, result: dict[str, Any]) -> dict[str, Any]:
        result = {**result, "basis": {"collect": self.collect_hash}}
        write_json(self.out_dir / f"{name}.json", result)
        return {**result, "cached": False}


def open_run(run_dir: Path | str, pair: ModelPair | None = None) -> RunContext:
    """A run directory with a finished collect stage (and its manifest); `pair` reuses models
    already in memory instead of loading them from the run's config."""
    path = Path(run_dir)
    rd = RunDir(path)
    if not rd.manifest_path.is_file() or not (rd.stage("collect") / "done.json").is_file():
        raise AdlensError(
            f"{path} is not a finished run directory (no manifest.json or collect stage): run "
            "`adlens run` first."
        )
    manifest = rd.read_manifest()
    try:
        config = RunConfig.model_validate(manifest["config"])
    except (KeyError, ValueError) as err:
        first = str(err).splitlines()[0]
        raise AdlensError(f"{path}/manifest.json holds no usable run config ({first}).") from None
    diff = ActivationDiff.load(rd.stage("collect"))
    summary = load_summary(rd) if rd.summary_path.is_file() else Summary()
    return RunContext(path, manifest, config, diff, summary, pair)


def domain_count(
    tokens: Sequence[TokenProb | dict[str, Any]], keywords: Sequence[str]
) -> int | None:
    """Domain tokens (whole words of the organism's vocabulary, vocab.is_domain_word) in a
    token list (a reading's, or analysis rows with a "token"); None without keywords."""
    if not keywords:
        return None
    return count_domain(tokens, keywords)


def organism_keywords(organism: Path | str | None) -> list[str]:
    if organism is None:
        return []
    from adlens.organisms.organism import load_organism

    return list(load_organism(organism).domain_keywords)


def token_strings(tokens: Sequence[dict[str, Any]], n: int | None = None) -> list[str]:
    return [t["token"] for t in tokens[:n]]


def overlap(
    a: Sequence[TokenProb | dict[str, Any]], b: Sequence[TokenProb | dict[str, Any]], k: int
) -> float:
    """Shared token ids in the top k of two lists (a reading's tokens, or analysis rows with an
    "id"), over k."""

    def ids(tokens: Sequence[TokenProb | dict[str, Any]]) -> set[int]:
        return {t.id if isinstance(t, TokenProb) else t["id"] for t in tokens[:k]}

    return len(ids(a) & ids(b)) / max(k, 1)


def figure_dict(fig: Any) -> dict[str, Any]:
    """A plotly figure as the plain dict the report renders."""
    return json.loads(fig.to_json())


def plotly() -> Any:
    """plotly.graph_objects, or a clear error when plotly is missing."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise AdlensError(
            "The analyses draw their figures with plotly: `pip install plotly`."
        ) from None
    return go


def unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
