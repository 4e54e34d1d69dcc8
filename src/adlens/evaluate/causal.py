"""Causal effect of the difference direction (PROTOCOL §4).

In the finetuned model F at layer l, at every token, the component of the residual along
u = d_j / ||d_j|| is replaced by the base model's (mode "base") or removed (mode "zero"):

    h' = h_F - (h_F · u) u + (h_B · u) u            (mode zero: without the last term)

and the cross-entropy is measured on finetuning documents D and on the reference corpus R. The
same is done for random Gaussian unit directions and for random activation differences (F's
activations of two random R documents at the same layer and position, normalised). Reported:
loss_F, loss_B, the loss with the intervention and the fraction of the base-finetuned gap it
recovers, (loss_int - loss_F) / (loss_B - loss_F), for each d_j, with mean and std of the controls.

Cost: per batch one full base pass (its loss, and h_B captured at l) and one full finetuned pass
(its loss, and h_F); then per vector only F's blocks after l and its head run: blocks 0..l are
swapped for stand-ins that hand on the precomputed h' (`resume_at`). The base never runs per
vector.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from adlens.core.activations import ActivationDiff
from adlens.core.data import Document
from adlens.core.models import ModelPair
from adlens.core.progress import progress_bar
from adlens.errors import AdlensError
from adlens.evaluate.causal_intervention import Mode, capture, replace_component, resume_at, unit
from adlens.evaluate.causal_losses import LossBatch, LossTable, _forward, batches, ce_sum, loss_rows

log = logging.getLogger(__name__)


class CausalConfig(BaseModel):
    """What the result depends on (all hashed but batch_size)."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = "base"
    documents: int = Field(64, ge=1)  # per corpus (D and R)
    max_tokens: int = Field(128, ge=2)  # tokens per document
    min_tokens: int = Field(16, ge=2)  # shorter documents are skipped
    random: int = Field(16, ge=0)  # controls of each kind per layer
    seed: int = 0
    layers: list[int] | None = None  # None: every collected layer
    positions: list[int] | None = None  # None: every collected position
    batch_size: int = Field(8, ge=1)

    def hashed(self) -> dict[str, Any]:
        return self.model_dump(exclude={"batch_size"})


# --------------------------------------------------------------------------- the experiment


def corpus_losses(
    pair: ModelPair,
    batches_: Sequence[LossBatch],
    vectors: dict[int, dict[str, torch.Tensor]],
    mode: Mode = "base",
    advance: Any = None,
) -> LossTable:
    """Losses of B ("base"), F ("finetuned") and F with each intervention ((layer, name)).

    vectors: layer -> name -> direction (normalised here). One base pass per batch serves every
    vector; F's blocks up to the layer run once per batch too."""
    table = LossTable()
    layers = sorted(vectors)
    units = {layer: {k: unit(v) for k, v in vecs.items()} for layer, vecs in vectors.items()}
    device = pair.device
    with torch.inference_mode():
        for batch in batches_:
            # B's loss is reported in both modes; its h is needed in mode "base" only.
            with pair.use("base") as model, capture(model, layers) as h_base:
                table.add("base", ce_sum(_forward(model, batch, device), batch))
            with pair.use("finetuned", upto=pair.n_layers - 1) as model:
                with capture(model, layers) as h_ft:
                    table.add("finetuned", ce_sum(_forward(model, batch, device), batch))
                for layer in layers:
                    for name, u in units[layer].items():
                        h = replace_component(h_ft[layer], h_base.get(layer), u, mode)
                        with resume_at(model, layer, h, as_tuple=h_ft[("tuple", layer)]):
                            table.add((layer, name), ce_sum(_forward(model, batch, device), batch))
                        if advance:
                            advance(1)
    return table


def random_directions(d: int, n: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [unit(torch.randn(d, generator=g)) for _ in range(n)]


def random_activation_differences(
    pair: ModelPair,
    rows: list[tuple[list[int], int]],
    layer: int,
    positions: Sequence[int],
    n: int,
    seed: int,
) -> list[tuple[int, torch.Tensor]]:
    """n normalised differences h_F(doc a, p) - h_F(doc b, p) at `layer`, for random pairs of
    distinct R documents and positions p cycling through `positions` (>= 0)."""
    from adlens.core.hooks import forward_until

    positions = [p for p in positions if p >= 0] or [0]
    g = torch.Generator().manual_seed(seed + 1)
    picks = []
    for i in range(n):
        p = positions[i % len(positions)]
        usable = [r for r, (ids, start) in enumerate(rows) if start + p < len(ids)]
        if len(usable) < 2:
            raise AdlensError(f"Fewer than 2 reference documents reach position {p}.")
        a, b = torch.randperm(len(usable), generator=g)[:2].tolist()
        picks.append((p, usable[a], usable[b]))
    needed = sorted({r for _, a, b in picks for r in (a, b)})
    width = max(rows[r][1] + p + 1 for p, a, b in picks for r in (a, b))
    sub = batches([(rows[r][0][:width], rows[r][1]) for r in needed], len(needed), pad=0)[0]
    with torch.inference_mode(), pair.use("finetuned", upto=layer) as model:
        h = forward_until(
            model,
            [layer],
            input_ids=sub.input_ids.to(pair.device),
            attention_mask=sub.attention_mask.to(pair.device),
        )[layer].float()
    where = {r: i for i, r in enumerate(needed)}
    out = []
    for p, a, b in picks:
        da, db = h[where[a], rows[a][1] + p], h[where[b], rows[b][1] + p]
        out.append((p, unit(da - db).cpu()))
    return out


def _spread(values: list[float]) -> dict[str, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return {
        "mean": float(t.mean()) if len(values) else math.nan,
        "std": float(t.std()) if len(values) > 1 else math.nan,
    }


def summarise(
    tables: dict[str, LossTable], names: dict[int, dict[str, str]], n_docs: dict[str, int]
) -> dict[str, Any]:
    """The report: per corpus the reference losses, per layer and position the intervention,
    and per layer the controls' spread. names: layer -> vector name -> kind."""
    out: dict[str, Any] = {"corpora": {}, "positions": [], "controls": []}
    for corpus, table in tables.items():
        lf, lb = table.loss("finetuned"), table.loss("base")
        out["corpora"][corpus] = {
            "documents": n_docs[corpus],
            "tokens": table.tokens("finetuned"),
            "loss_finetuned": lf,
            "loss_base": lb,
            "gap": lb - lf,
        }

    def effect(corpus: str, layer: int, name: str) -> dict[str, float]:
        table, ref = tables[corpus], out["corpora"][corpus]
        loss = table.loss((layer, name))
        gap = ref["gap"]
        return {
            "loss": loss,
            "delta": loss - ref["loss_finetuned"],
            "recovered": (loss - ref["loss_finetuned"]) / gap if abs(gap) > 1e-9 else math.nan,
        }

    for layer, kinds in sorted(names.items()):
        controls: dict[str, Any] = {"layer": layer}
        for kind in ("random_direction", "random_activation_difference"):
            members = [n for n, k in kinds.items() if k == kind]
            if not members:
                continue
            controls[kind] = {
                corpus: {
                    key: _spread([effect(corpus, layer, n)[key] for n in members])
                    for key in ("loss", "delta", "recovered")
                }
                | {"n": len(members)}
                for corpus in tables
            }
        out["controls"].append(controls)
        for name, kind in kinds.items():
            if kind != "diff":
                continue
            entry: dict[str, Any] = {"layer": layer, "position": int(name.removeprefix("d_"))}
            for corpus in tables:
                e = effect(corpus, layer, name)
                for ctl in ("random_direction", "random_activation_difference"):
                    s = controls.get(ctl, {}).get(corpus, {}).get("delta")
                    if s and s["std"] and not math.isnan(s["std"]):
                        e[f"z_vs_{ctl}"] = (e["delta"] - s["mean"]) / s["std"]
                entry[corpus] = e
            out["positions"].append(entry)
    first = next(iter(tables), None)
    out["best"] = max(
        out["positions"], key=lambda p: p[first]["delta"] if first else 0.0, default=None
    )
    return out


def causal_effect(
    pair: ModelPair,
    diff: ActivationDiff,
    corpora: dict[str, Sequence[Document]],
    cfg: CausalConfig | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the experiment on documents per corpus (e.g. {"D": ..., "R": ...}); the first
    corpus orders the positions' "best". Random activation differences come from the last
    corpus (R)."""
    cfg = cfg or CausalConfig()
    layers = cfg.layers or diff.layers
    positions = cfg.positions if cfg.positions is not None else diff.labels
    for layer in layers:
        for pos in positions:
            diff.layer_pos(layer, pos)  # one clear error for a bad layer or position
    pad = pair.tokenizer.pad_token_id if pair.tokenizer.pad_token_id is not None else 0
    rows = {
        name: loss_rows(pair.tokenizer, docs, cfg.documents, cfg.max_tokens, cfg.min_tokens)
        for name, docs in corpora.items()
    }
    for name, r in rows.items():
        if not r:
            raise AdlensError(f"No {name} document has {cfg.min_tokens} tokens to score.")
        if len(r) < cfg.documents:
            log.warning(
                "causal: only %d of %d %s documents are usable", len(r), cfg.documents, name
            )

    vectors: dict[int, dict[str, torch.Tensor]] = {}
    names: dict[int, dict[str, str]] = {}
    reference = rows[list(rows)[-1]]
    for layer in layers:
        vecs = {f"d_{p}": diff.vector(layer, p) for p in positions}
        kinds = dict.fromkeys(vecs, "diff")
        for i, v in enumerate(random_directions(pair.d_model, cfg.random, cfg.seed + layer)):
            vecs[f"random_dir_{i}"], kinds[f"random_dir_{i}"] = v, "random_direction"
        acts = random_activation_differences(
            pair, reference, layer, diff.labels, cfg.random, cfg.seed + layer
        )
        for i, (_p, v) in enumerate(acts):
            vecs[f"random_act_{i}"], kinds[f"random_act_{i}"] = v, "random_activation_difference"
        vectors[layer], names[layer] = vecs, kinds

    all_batches = {name: batches(r, cfg.batch_size, pad) for name, r in rows.items()}
    per_batch = sum(len(v) for v in vectors.values())
    total = per_batch * sum(len(b) for b in all_batches.values())
    t0 = time.perf_counter()
    tables = {}
    with progress_bar("causal interventions", total, show_progress) as advance:
        for name, bs in all_batches.items():
            tables[name] = corpus_losses(pair, bs, vectors, cfg.mode, advance)
    report = summarise(tables, names, {k: len(v) for k, v in rows.items()})
    report["seconds"] = round(time.perf_counter() - t0, 2)
    report["vectors_per_layer"] = {str(k): len(v) for k, v in vectors.items()}
    return report
