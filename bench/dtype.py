"""bfloat16 and mixed precision against float32 on the CPU: the same run in each, side by side.

For each organism (the validation suite's, and the demo), the pipeline collects and reads the
same reference documents with `--dtype float32` and each of `--dtypes` (default: mixed, float32
weights with bf16 matrix products, and bfloat16; the running sums are float64 in all), and
prints, for each against float32:

- per layer, the relative error of the mean difference, ||d - d_fp32|| / ||d_fp32||, at the
  worst position;
- per reader, over its (layer, position, variant, head) lists, the Jaccard overlap of the two
  top-20 token lists (mean and minimum; Patchscope compared at each run's chosen scale), and how
  often both runs chose the same Patchscope scale; then Patchscope at every scale, each list
  against the same scale's in float32 (`patchscope_every_scale`: the precision's own effect,
  apart from the scale choice's);
- each stage's seconds in both dtypes (collect, norms, each reader).

Nothing is asserted; a `json:` line closes the output.

    .venv/bin/python bench/dtype.py                                  # all, 500 documents
    .venv/bin/python bench/dtype.py --organisms demo persona-owl --documents 1000
    .venv/bin/python bench/dtype.py --readers logit_lens patchscope  # skip the slow readers
    .venv/bin/python bench/dtype.py --dtypes mixed                    # fp32 against mixed only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REFERENCE = "float32"
TOP = 20


def organisms(names: list[str] | None) -> list[tuple[str, Path]]:
    """(name, folder) of the bundled organisms named (default: the validation suite, the demo included)."""
    from adlens.studies.validate import ORGANISMS_DIR, SUITE

    out = []
    for name in names or SUITE:
        folder = ORGANISMS_DIR / name
        if not (folder / "organism.json").is_file():
            raise SystemExit(f"no bundled organism {name!r} in {ORGANISMS_DIR}")
        out.append((name, folder))
    return out


def run_once(folder: Path, out: Path, dtype: str, args: argparse.Namespace) -> dict[str, Any]:
    from adlens.core.activations import ActivationDiff
    from adlens.core.config import ReadConfig
    from adlens.organisms.organism import load_organism
    from adlens.pipeline.stages import run
    from adlens.store.rundir import RunDir, read_json
    from adlens.studies.validate import run_config

    organism = load_organism(folder)
    config = run_config(organism, folder, samples=args.documents, layers=args.layers)
    config = config.model_copy(
        update={
            "models": config.models.model_copy(update={"dtype": dtype}),
            "read": ReadConfig(readers=args.readers) if args.readers else config.read,
        }
    )
    summary = run(config, out, steer=False, show_progress=False)
    diff = ActivationDiff.load(RunDir(out).stage("collect"))
    timings = read_json(out / "manifest.json").get("timings", {})
    scales_file = out / "read" / "patchscope_scales.jsonl"
    per_scale = [json.loads(line) for line in scales_file.open()] if scales_file.exists() else []
    return {"summary": summary, "diff": diff, "timings": timings, "per_scale": per_scale}


def key(r: Any) -> tuple[Any, ...]:
    return (r.reader, r.layer, r.position, r.variant, r.head, r.model, r.pooled)


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """bf16 run `b` against fp32 run `a`."""
    da, db = a["diff"].mean_diff.double(), b["diff"].mean_diff.double()
    rel = ((db - da).norm(dim=-1) / da.norm(dim=-1).clamp_min(1e-30)).amax(dim=-1)
    layers = {int(layer): float(e) for layer, e in zip(a["diff"].layers, rel, strict=True)}
    lists_a = {key(r): r for r in a["summary"].readers}
    lists_b = {key(r): r for r in b["summary"].readers}
    jaccard: dict[str, list[float]] = defaultdict(list)
    same_scale: dict[str, list[bool]] = defaultdict(list)
    for k in lists_a.keys() & lists_b.keys():
        ra, rb = lists_a[k], lists_b[k]
        wa, wb = set(ra.words(TOP)), set(rb.words(TOP))
        if wa or wb:
            jaccard[ra.reader].append(len(wa & wb) / len(wa | wb))
        if ra.scale is not None:
            same_scale[ra.reader].append(ra.scale == rb.scale)
    readers = {
        name: {
            "lists": len(values),
            "jaccard_mean": statistics.mean(values),
            "jaccard_min": min(values),
            **(
                {"same_scale": sum(same_scale[name]) / len(same_scale[name])}
                if same_scale[name]
                else {}
            ),
        }
        for name, values in sorted(jaccard.items())
    }
    # Patchscope at every scale, the same scale in both runs: the precision's own effect, apart
    # from the scale choice's.
    at = {(r["layer"], r["position"], r["variant"], r["scale"]): r for r in a["per_scale"]}
    same = []
    for r in b["per_scale"]:
        other = at.get((r["layer"], r["position"], r["variant"], r["scale"]))
        wa = {t["token"] for t in other["tokens"][:TOP]} if other else set()
        wb = {t["token"] for t in r["tokens"][:TOP]}
        if wa or wb:
            same.append(len(wa & wb) / len(wa | wb))
    if same:
        readers["patchscope_every_scale"] = {
            "lists": len(same),
            "jaccard_mean": statistics.mean(same),
            "jaccard_min": min(same),
        }
    return {"mean_diff_rel_error": layers, "readers": readers}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--organisms", nargs="*", default=None)
    ap.add_argument("--documents", type=int, default=500)
    ap.add_argument("--layers", type=lambda s: [float(x) for x in s.split(",")], default=None)
    ap.add_argument("--readers", nargs="*", default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    ap.add_argument("--dtypes", nargs="+", default=["mixed", "bfloat16"], help="against float32")
    args = ap.parse_args(argv)

    import torch

    from adlens.core.model_loading import cpu_has_native_bf16

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: "
        f"{cpu_has_native_bf16()}; {args.documents} documents per run"
    )
    root = args.keep or Path(tempfile.mkdtemp(prefix="adlens-dtype-"))
    results = {}
    for name, folder in organisms(args.organisms):
        dtypes = [REFERENCE, *args.dtypes]
        runs = {d: run_once(folder, root / name / d, d, args) for d in dtypes}
        print(f"\n{name}")
        results[name] = {}
        for d in args.dtypes:
            cmp = compare(runs[REFERENCE], runs[d])
            cmp["timings"] = {x: runs[x]["timings"] for x in (REFERENCE, d)}
            results[name][d] = cmp
            errs = ", ".join(f"L{k} {100 * v:.2f}%" for k, v in cmp["mean_diff_rel_error"].items())
            print(f"  {d}: mean difference, relative error (worst position): {errs}")
            for reader, r in cmp["readers"].items():
                scale = f", same scale {100 * r['same_scale']:.0f}%" if "same_scale" in r else ""
                print(
                    f"    {reader:12s} top-{TOP} Jaccard mean {r['jaccard_mean']:.3f} "
                    f"min {r['jaccard_min']:.3f} over {r['lists']} lists{scale}"
                )
            stages = sorted(set().union(*(t.keys() for t in cmp["timings"].values())))
            for stage in stages:
                t32, t = (cmp["timings"][x].get(stage) for x in (REFERENCE, d))
                ratio = f"  ({t32 / t:.2f}x)" if t32 and t else ""
                print(f"    {stage:16s} fp32 {t32} s, {d} {t} s{ratio}")
    print("json:", json.dumps(results, default=float))


if __name__ == "__main__":
    main()
