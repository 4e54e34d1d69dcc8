"""Steering similarity (PROTOCOL §4): do steered samples read like the finetuning data D?

Four groups are embedded: the steered samples of each (layer, position), the unsteered samples,
~500 documents of D and ~500 ordinary chat replies. With unit-normalised embeddings û,

    sim(A, B) = mean_{a in A, b in B} cos(a, b) = mean(û_A) · mean(û_B)

which is exact for two different groups. For the self-similarity of one group the i = j pairs
(cosine 1) are left out exactly:

    self(A) = (|sum û_A|^2 - sum |û_a|^2) / (n (n - 1))

Reported: steered-vs-D and unsteered-vs-D (the steering effect is their gap), D's self-similarity
(the ceiling: how alike D's own documents are), steered-vs-chat and unsteered-vs-chat, per
position and for the best position. Saved to RUN_DIR/evaluate/similarity.json, reused while its
config hash matches.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from adlens.core.progress import progress_bar
from adlens.errors import AdlensError
from adlens.evaluate.documents import (
    document_text,
    organism_documents,
    organism_fingerprint,
    sample,
)
from adlens.evaluate.embedder import Embedder, embed, load_embedder, resolve_embedder
from adlens.organisms.organism import Organism
from adlens.results.summary import load_summary
from adlens.store.rundir import RunDir, config_hash, read_json, read_jsonl, write_json

log = logging.getLogger(__name__)

FORMULA = {
    "between_groups": "mean over all pairs (a, b) of cos(a, b) = mean(unit(A)) . mean(unit(B))",
    "self": "mean over pairs i != j: (|sum unit(A)|^2 - sum |unit(a)|^2) / (n (n - 1))",
}


class SimilarityConfig(BaseModel):
    """What the result depends on (all hashed but device and batch_size)."""

    model_config = ConfigDict(extra="forbid")

    embedder: str | None = None  # None/auto: Qwen3-Embedding-0.6B online, MiniLM offline
    documents: int = Field(500, ge=2)  # finetuning documents of D
    chat: int = Field(500, ge=1)  # ordinary chat replies
    chat_source: str = "chatterbot"  # built-in corpus, local file or hub dataset
    min_chat_words: int = Field(3, ge=0)  # "Yes." is not a chat reply worth comparing
    max_tokens: int = Field(512, ge=8)  # embedder input is cut here
    seed: int = 0
    batch_size: int = Field(32, ge=1)
    device: str = "auto"

    def hashed(self) -> dict[str, Any]:
        return self.model_dump(exclude={"batch_size", "device"})


# --------------------------------------------------------------------------- the formulas


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), in float64."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def cross_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine over all pairs of a row of `a` and a row of `b`."""
    return float(unit_rows(a).mean(0) @ unit_rows(b).mean(0))


def self_similarity(a: np.ndarray) -> float:
    """Mean cosine over pairs of different rows of `a` (i != j, each unordered pair twice)."""
    u = unit_rows(a)
    n = len(u)
    if n < 2:
        return math.nan
    total = u.sum(0)
    return float((total @ total - (u * u).sum()) / (n * (n - 1)))


def per_row_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of `a`, its mean cosine to the rows of `b` (their mean is cross_similarity):
    the spread gives a standard error over samples."""
    return unit_rows(a) @ unit_rows(b).mean(0)


def _mean_se(values: np.ndarray) -> dict[str, float]:
    n = len(values)
    se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return {"mean": float(values.mean()), "se": se}


def compare(
    steered: dict[tuple[int, int], np.ndarray],
    unsteered: np.ndarray,
    documents: np.ndarray,
    chat: np.ndarray,
) -> dict[str, Any]:
    """The report from embeddings: steered[(layer, position)], unsteered, D and chat."""
    base: dict[str, Any] = {
        "unsteered_vs_D": _mean_se(per_row_similarity(unsteered, documents)),
        "unsteered_vs_chat": _mean_se(per_row_similarity(unsteered, chat)),
        "D_self": self_similarity(documents),
        "chat_self": self_similarity(chat),
        "D_vs_chat": cross_similarity(documents, chat),
        "unsteered_self": self_similarity(unsteered),
    }
    floor, ceiling = base["unsteered_vs_D"]["mean"], base["D_self"]
    positions = []
    for (layer, pos), emb in sorted(steered.items()):
        vs_d = _mean_se(per_row_similarity(emb, documents))
        gain = vs_d["mean"] - floor
        positions.append(
            {
                "layer": layer,
                "position": pos,
                "samples": len(emb),
                "steered_vs_D": vs_d,
                "steered_vs_chat": _mean_se(per_row_similarity(emb, chat)),
                "steered_self": self_similarity(emb),
                "gain_over_unsteered": gain,
                # 0: no closer to D than unsteered text; 1: as close as D is to itself.
                "fraction_of_ceiling": gain / (ceiling - floor) if ceiling != floor else math.nan,
            }
        )
    best = max(positions, key=lambda p: p["steered_vs_D"]["mean"], default=None)
    return {"baselines": base, "positions": positions, "best": best}


# --------------------------------------------------------------------------- the groups


def read_samples(run_dir: Path) -> list[dict[str, Any]]:
    """Final steering samples of a run: steer/samples.jsonl, or (steer stage still running)
    the per-position files and the unsteered samples written so far."""
    steer = Path(run_dir) / "steer"
    files = [steer / "samples.jsonl"]
    if not files[0].is_file():
        files = sorted(steer.glob("L*_P*/samples.jsonl")) + [steer / "unsteered_samples.jsonl"]
    return [row for f in files for row in read_jsonl(f)]


def split_samples(
    rows: Sequence[dict[str, Any]],
) -> tuple[dict[tuple[int, int], list[str]], list[str], dict[tuple[int, int], float]]:
    """Texts of steered samples per (layer, position), unsteered texts, strength per position."""
    steered: dict[tuple[int, int], list[str]] = {}
    strength: dict[tuple[int, int], float] = {}
    unsteered: list[str] = []
    for r in rows:
        text = (r.get("text") or "").strip()
        if not text:
            continue
        if r.get("steered"):
            key = (int(r["layer"]), int(r["position"]))
            steered.setdefault(key, []).append(text)
            strength[key] = float(r.get("strength", math.nan))
        else:
            unsteered.append(text)
    return steered, unsteered, strength


def chat_replies(source: str, n: int, seed: int, min_words: int = 3) -> list[str]:
    """Up to n ordinary chat replies: the chatterbot corpus offline, or any text source."""
    from adlens.core.data import TextSource, iter_documents

    if source == "chatterbot":
        from adlens.store.corpora import ensure_corpus

        lines = ensure_corpus("chatterbot").read_text(encoding="utf-8").splitlines()
        texts = [json.loads(x)["text"] for x in lines if x]
    else:
        docs = islice(iter_documents(TextSource(name=source)), 20 * n)
        texts = [document_text(d) for d in docs]
    texts = list(dict.fromkeys(t.strip() for t in texts if len(t.split()) >= min_words))
    if not texts:
        raise AdlensError(f"No chat replies of at least {min_words} words in '{source}'.")
    return sample(texts, n, seed)


# --------------------------------------------------------------------------- the stage


def similarity_hash(
    cfg: SimilarityConfig, embedder_identity: dict[str, Any], rows: list, organism: Any
) -> str:
    texts = [(r.get("layer"), r.get("position"), r.get("steered"), r.get("text")) for r in rows]
    return config_hash(
        {
            "similarity": cfg.hashed(),
            "embedder": embedder_identity,
            "samples": config_hash(texts),
            "organism": organism,
        }
    )


def steering_similarity(
    run_dir: Path | str,
    organism: Path | str | Organism,
    cfg: SimilarityConfig | None = None,
    *,
    embedder: Embedder | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Embed the groups, compare them and save RUN_DIR/evaluate/similarity.json (reused while
    the samples, D, the embedder and the config are unchanged). `embedder` overrides
    cfg.embedder (tests pass a stub)."""
    from adlens.store.asset_cache import cache_dir

    cfg = cfg or SimilarityConfig()
    run_dir = Path(run_dir)
    rd = RunDir(run_dir)
    stages = load_summary(rd).stages if rd.summary_path.is_file() else None
    # Samples of an earlier steering config in this directory are not this run's.
    rows = read_samples(run_dir) if rd.steer_is_current(stages) else []
    steered_texts, unsteered_texts, strength = split_samples(rows)
    if not steered_texts or not unsteered_texts:
        raise AdlensError(
            f"No {'steered' if not steered_texts else 'unsteered'} samples in {run_dir}/steer: "
            "run `adlens steer` (or `adlens run --steer`) on it first."
        )
    docs = organism_documents(organism)
    if len(docs) < 2:
        name = organism.name if isinstance(organism, Organism) else f"at {organism}"
        raise AdlensError(f"The organism {name} has fewer than 2 finetuning documents.")
    resolved: tuple[str, dict[str, Any]] | None = None
    if embedder:
        identity = embedder.identity
    else:
        resolved = resolve_embedder(cfg.embedder)
        identity = resolved[1]
    digest = similarity_hash(cfg, identity, rows, organism_fingerprint(organism))
    out = run_dir / "evaluate" / "similarity.json"
    if not force and out.is_file() and read_json(out).get("config_hash") == digest:
        log.info("similarity: cached (config %s)", digest)
        return read_json(out)

    t0 = time.perf_counter()
    d_texts = [
        t for t in (document_text(d).strip() for d in sample(docs, cfg.documents, cfg.seed)) if t
    ]
    chat = chat_replies(cfg.chat_source, cfg.chat, cfg.seed, cfg.min_chat_words)
    if embedder is None:
        embedder = load_embedder(
            cfg.embedder,
            device=cfg.device,
            max_tokens=cfg.max_tokens,
            batch_size=cfg.batch_size,
            resolved=resolved,
        )
    cache = cache_dir() / "embeddings"
    total = len(d_texts) + len(chat) + len(unsteered_texts) + sum(map(len, steered_texts.values()))
    with progress_bar("embedding", total, show_progress) as advance:
        emb_d = embed(embedder, d_texts, cache, advance=advance)
        emb_chat = embed(embedder, chat, cache, advance=advance)
        emb_unsteered = embed(embedder, unsteered_texts, advance=advance)
        emb_steered = {k: embed(embedder, v, advance=advance) for k, v in steered_texts.items()}
    report = compare(emb_steered, emb_unsteered, emb_d, emb_chat)
    for p in report["positions"]:
        p["strength"] = strength[(p["layer"], p["position"])]
    result = {
        "config_hash": digest,
        "basis": rd.basis(stages, "collect", "read", "steer"),
        "config": cfg.model_dump(),
        "embedder": embedder.identity,
        "formula": FORMULA,
        "counts": {
            "documents": len(d_texts),
            "chat": len(chat),
            "unsteered": len(unsteered_texts),
            "steered": {f"L{k[0]}_P{k[1]}": len(v) for k, v in sorted(steered_texts.items())},
        },
        **report,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    write_json(out, result)
    return result
