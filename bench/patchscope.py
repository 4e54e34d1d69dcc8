"""Patchscope: time per (vector, scale), three ways, on the demo pair's own difference.

The demo organism's difference is collected once (`--documents` reference documents, the middle
layer), then its Patchscope (every position, every variant, the reference's 30 scales) is read:

  adlens        `adlens.core.patchscope.patchscope`: each model's prompt prefixes computed once
                for the run, every position's and variant's vectors of a layer in one stream of
                batches (up to `PATCH_BATCH` rows), each batch reduced to its top-k lists at once;
  per position  the same forward one position at a time, as the reader used to batch it:
                `patched_probs` (prefixes recomputed per call, 64 rows per forward) then
                `intersect_and_average` over the whole [prompts, rows, vocabulary] tensor;
  naive         what a researcher would write first: for each (vector, scale) and each prompt, the
                whole prompt forward, one row, with the replacement hook; on `--naive-rows` rows
                spread over the work, its time per row scaled to the whole.

The methods alternate `--repeats` times; it prints seconds per (vector, scale), median
[min-max], the cores other processes used, whether adlens's lists equal the per-position way's,
a `json:` line and, last, `ratio:` (naive / adlens time per (vector, scale), median).

    .venv/bin/python bench/patchscope.py
    .venv/bin/python bench/patchscope.py --repeats 5 --documents 200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collect import timed  # noqa: E402  (bench/collect.py)


def demo_diff(documents: int, out: Path) -> tuple[Any, Any]:
    """The demo pair and its difference at the middle layer (expected norms included)."""
    from adlens.core.activations import ActivationDiff
    from adlens.core.config import ReadConfig
    from adlens.core.models import ModelPair
    from adlens.organisms.organism import load_organism
    from adlens.pipeline.stages import run
    from adlens.store.rundir import RunDir
    from adlens.studies.validate import ORGANISMS_DIR, run_config

    folder = ORGANISMS_DIR / "demo"
    config = run_config(load_organism(folder), folder, samples=documents, layers=[0.5])
    config = config.model_copy(update={"read": ReadConfig(readers=["logit_lens"])})
    run(config, out, steer=False, show_progress=False)
    diff = ActivationDiff.load(RunDir(out).stage("collect"))
    m = config.models
    pair = ModelPair.load(m.base, m.finetuned, dtype="float32", device="cpu")
    return pair, diff


def work(diff: Any, layer: int, scales: list[float]) -> list[tuple[int, str, float]]:
    """Every (position, variant, scale) the reader patches at `layer`."""
    from adlens.core.lens import VARIANTS

    return [(pos, v, s) for pos in diff.labels for v in VARIANTS for s in scales]


def run_adlens(pair: Any, diff: Any, scales: list[float]) -> dict[tuple[Any, ...], list[int]]:
    from adlens.core.patchscope import patchscope

    _, per_scale = patchscope(pair, diff, scales=scales)
    return {
        (r["layer"], r["position"], r["variant"], r["scale"]): [t["id"] for t in r["tokens"]]
        for r in per_scale
    }


def run_per_position(pair: Any, diff: Any, scales: list[float]) -> dict[tuple[Any, ...], list[int]]:
    """The previous reader's loop: a position at a time, whole probability tensors."""
    import torch

    from adlens.core.lens import VARIANTS, reading_model, top_tokens
    from adlens.core.patchscope import intersect_and_average, patched_probs

    out = {}
    scale_t = torch.tensor(scales)
    for layer in diff.layers:
        if layer == pair.n_layers - 1:
            continue
        li = diff.layers.index(layer)
        for pos in diff.labels:
            for model in ("finetuned", "base"):
                mine = [v for v in VARIANTS if reading_model(v) == model]
                units = torch.stack([diff.vector(layer, pos, v) for v in mine])
                units = units / units.norm(dim=-1, keepdim=True)
                norm = float(diff.expected_norm[model][li])
                vecs = (units[:, None] * scale_t[None, :, None] * norm).reshape(
                    len(mine) * len(scales), -1
                )
                avg = intersect_and_average(patched_probs(pair, layer, vecs, side=model), 16384)
                lists = top_tokens(pair.tokenizer, avg, 20)
                for i, (v, s) in enumerate((v, s) for v in mine for s in scales):
                    out[(layer, pos, v, s)] = [t["id"] for t in lists[i]]
    return out


def run_naive(pair: Any, diff: Any, rows: list[tuple[int, str, float]], layer: int) -> None:
    """Each (vector, scale): every prompt's whole forward, one row, the replacement hook."""
    import torch

    from adlens.core.hooks import replace_last_token
    from adlens.core.lens import reading_model
    from adlens.core.patchscope import identity_prompt
    from adlens.core.vocab import IDENTITY_TRIPLES

    li = diff.layers.index(layer)
    prompts = [
        pair.tokenizer(identity_prompt(w), return_tensors="pt")["input_ids"]
        for w in IDENTITY_TRIPLES
    ]
    with torch.inference_mode():
        for pos, variant, scale in rows:
            model = reading_model(variant)
            v = diff.vector(layer, pos, variant)
            v = v / v.norm() * scale * float(diff.expected_norm[model][li])
            with pair.use(model) as m, replace_last_token(m, layer, v[None]):
                probs = [m(input_ids=ids).logits[0, -1].softmax(-1) for ids in prompts]
            torch.stack(probs).mean(0).topk(20)


def spread(values: list[float], unit: float = 1e3) -> str:
    return (
        f"{statistics.median(values) * unit:.2f} "
        f"[{min(values) * unit:.2f}-{max(values) * unit:.2f}]"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--documents", type=int, default=64, help="reference documents collected")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--naive-rows", type=int, default=30)
    args = ap.parse_args(argv)

    import torch

    from adlens.core.patchscope import PATCH_BATCH, default_scales
    from adlens.core.threads import cpu_threads

    scales = default_scales()
    with tempfile.TemporaryDirectory(prefix="adlens-bench-") as tmp:
        pair, diff = demo_diff(args.documents, Path(tmp) / "run")
    layer = next(la for la in diff.layers if la != pair.n_layers - 1)
    rows = work(diff, layer, scales)
    step = max(1, len(rows) // args.naive_rows)
    naive_rows = rows[::step][: args.naive_rows]
    run_adlens(pair, diff, scales[:2])  # warm-up, untimed
    run_naive(pair, diff, naive_rows[:1], layer)

    per_row: dict[str, list[float]] = {"adlens": [], "per position": [], "naive": []}
    others: dict[str, list[float]] = {k: [] for k in per_row}
    same: list[float] = []
    for _ in range(args.repeats):  # the methods alternate
        wall, other, ours = timed(lambda: run_adlens(pair, diff, scales))
        per_row["adlens"].append(wall / len(rows))
        others["adlens"].append(other)
        wall, other, before = timed(lambda: run_per_position(pair, diff, scales))
        per_row["per position"].append(wall / len(rows))
        others["per position"].append(other)
        with cpu_threads():
            wall, other, _ = timed(lambda: run_naive(pair, diff, naive_rows, layer))
        per_row["naive"].append(wall / len(naive_rows))
        others["naive"].append(other)
        same.append(sum(ours[k] == before[k] for k in before) / len(before))

    print(
        f"Patchscope on the demo pair, fp32, torch threads {torch.get_num_threads()}, layer "
        f"{layer} of {pair.n_layers}; {len(diff.labels)} positions x 5 variants x {len(scales)} "
        f"scales = {len(rows)} (vector, scale) rows x 3 prompts; adlens batches up to "
        f"{PATCH_BATCH} rows; naive on {len(naive_rows)} rows"
    )
    print(f"ms per (vector, scale), median [min-max] of {args.repeats}:")
    for name, values in per_row.items():
        print(
            f"  {name:13s} {spread(values)} ms   (other processes: "
            f"{statistics.median(others[name]):.2f} cores)"
        )
        if max(others[name]) > 0.25:
            print(f"  WARNING: other processes used up to {max(others[name]):.2f} cores")
    adlens_ms = statistics.median(per_row["adlens"])
    print(
        f"  whole reader at this layer: adlens {adlens_ms * len(rows):.1f} s, per position "
        f"{statistics.median(per_row['per position']) * len(rows):.1f} s"
    )
    print(f"lists equal to the per-position way's: {100 * min(same):.1f}% of {len(rows)}")
    ratios = [n / a for n, a in zip(per_row["naive"], per_row["adlens"], strict=True)]
    speedup = [p / a for p, a in zip(per_row["per position"], per_row["adlens"], strict=True)]
    summary = {
        "ms_per_row": {k: statistics.median(v) * 1e3 for k, v in per_row.items()},
        "rows": len(rows),
        "same_lists": min(same),
        "vs_per_position": statistics.median(speedup),
        "ratio_naive": statistics.median(ratios),
    }
    print("json:", json.dumps(summary))
    print(f"per position / adlens: {statistics.median(speedup):.2f}x")
    print(f"ratio: {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
