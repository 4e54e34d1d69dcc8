"""The causal-effect stage of a run directory: reads the run's difference and corpora, runs the
experiment and caches RUN_DIR/evaluate/causal.json by config hash."""

from __future__ import annotations

import logging
import time
from itertools import islice
from pathlib import Path
from typing import Any

from adlens.core.activations import ActivationDiff
from adlens.core.data import Document
from adlens.core.models import ModelPair
from adlens.errors import AdlensError
from adlens.evaluate.causal import CausalConfig, causal_effect
from adlens.evaluate.documents import organism_documents, organism_fingerprint, sample
from adlens.store.rundir import RunDir, config_hash, read_json, write_json

log = logging.getLogger(__name__)


def reference_documents(source: Any, n: int, skip: int) -> list[Document]:
    """n * 2 documents of the run's corpus after the first `skip` (those the lens read), or
    from the start when the corpus is too small or streamed from the hub."""
    from adlens.core.data import iter_documents

    want = 2 * n + 8  # some are too short
    if source.kind != "hub":
        docs = list(iter_documents(source))
        if len(docs) >= skip + want:
            return docs[skip : skip + want]
        log.info("causal: the reference corpus is small; scoring documents the lens also read")
        return docs[:want]
    return list(islice(iter_documents(source), want))


def causal_hash(cfg: CausalConfig, manifest: dict[str, Any], organism: str) -> str:
    return config_hash(
        {
            "causal": cfg.hashed(),
            "collect": manifest.get("config_hash", {}).get("collect"),
            "organism": organism,
        }
    )


def run_causal(
    run_dir: Path | str,
    organism: Path | str,
    cfg: CausalConfig | None = None,
    *,
    pair: ModelPair | None = None,
    device: str | None = None,
    dtype: str | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Causal effect for a run directory; saved to RUN_DIR/evaluate/causal.json and reused
    while the run's collect stage, D and the config are unchanged."""
    from adlens.core.config import ModelsConfig
    from adlens.core.data import TextSource

    cfg = cfg or CausalConfig()
    rd = RunDir(run_dir)
    manifest = rd.read_manifest()
    collected = rd.done_hash("collect")
    if not manifest.get("config") or collected is None:
        raise AdlensError(f"{rd.path} is not a finished run: run `adlens run` first.")
    digest = causal_hash(cfg, manifest, organism_fingerprint(organism))
    out = rd.path / "evaluate" / "causal.json"
    if not force and out.is_file() and read_json(out).get("config_hash") == digest:
        log.info("causal: cached (config %s)", digest)
        return read_json(out)
    diff = ActivationDiff.load(rd.stage("collect"))
    d_docs = sample(organism_documents(organism), 2 * cfg.documents + 8, cfg.seed)
    collect_cfg = manifest["config"]["collect"]
    source = TextSource(**collect_cfg["dataset"])
    r_docs = reference_documents(source, cfg.documents, int(collect_cfg.get("samples", 0)))
    if pair is None:
        from adlens.pipeline.stages import load_pair

        models = dict(manifest["config"]["models"])
        models |= {k: v for k, v in {"device": device, "dtype": dtype}.items() if v}
        pair = load_pair(ModelsConfig(**models))
    t0 = time.perf_counter()
    report = causal_effect(pair, diff, {"D": d_docs, "R": r_docs}, cfg, show_progress)
    result = {
        "config_hash": digest,
        "basis": {"collect": collected},
        "config": cfg.model_dump(),
        "mode": cfg.mode,
        "formula": {
            "base": "h' = h_F - (h_F.u) u + (h_B.u) u, u = d_j / ||d_j||, at every token",
            "zero": "h' = h_F - (h_F.u) u",
            "recovered": "(loss_int - loss_F) / (loss_B - loss_F)",
        },
        "reference_dataset": source.name,
        **report,
        "wall_seconds": round(time.perf_counter() - t0, 2),
    }
    write_json(out, result)
    return result
