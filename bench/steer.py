"""Benchmark steering generation: adlens's batched sampler against a plain per-prompt loop.

Both generate the same rows (prompt, strength, new tokens) with the same steering vector added
at the middle layer, on the offline demo pair (SmolLM2-135M-Instruct and the demo organism):

  adlens  `adlens.core.steer.generate`, as the steer stage calls it: one call per search round
          and per final set, rows batched (`--max-batch`), a KV cache, finished rows leaving the
          batch, inverse-CDF sampling with per-row seeds.
  naive   what a researcher would write first: for each row, `model.generate(do_sample=True)` on
          that one prompt, under a forward hook that adds strength x vector at the layer.

The rows are the demo preset's steer stage in miniature: a strength-search round (7 strengths x
4 samples of the 3 everyday search prompts, 48 new tokens) and the final samples (the 20
everyday prompts x 2, 64 new tokens). The naive loop runs a subset (`--naive-rows`, spread over
the workload) and its tokens/s is the rate. Figures are generated tokens (stop tokens excluded)
per second of wall time; methods alternate within each repeat (`--repeats`, median [min-max]),
so drift hits both; each figure is printed with the CPU cores other processes used meanwhile.
Nothing is asserted. The last line is `ratio: <adlens tokens/s / naive tokens/s>x`.

    .venv/bin/python bench/steer.py
    .venv/bin/python bench/steer.py --dtype bfloat16 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collect import DEMO_ADAPTERS, BusyNeighbour, timed  # noqa: E402  (bench/collect.py)

STRENGTHS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def workload(search: list[str], final: list[str]) -> list[tuple[str, float, int]]:
    """(prompt, strength, new tokens) rows: one search round and the final samples."""
    rows = [(p, s, 48) for s in STRENGTHS for p in search for _ in range(4)][:28]
    rows += [(p, 2.0, 64) for p in final for _ in range(2)]
    return rows


def steering_vector(pair: Any, layer: int, text: str) -> Any:
    """A random direction at the typical norm of the layer's output (strength 1 = one typical
    activation, as the stage's vectors are)."""
    import torch

    from adlens.core.hooks import forward_until

    ids = pair.tokenizer(text, return_tensors="pt")
    with pair.use("finetuned", upto=layer) as model, torch.inference_mode():
        h = forward_until(model, [layer], **ids)[layer][0]
    norm = float(h[1:].norm(dim=-1).median())
    g = torch.Generator().manual_seed(0)
    v = torch.randn(pair.d_model, generator=g)
    return norm * v / v.norm()


def run_adlens(pair: Any, rows: list[tuple[str, float, int]], layer: int, v: Any, batch: int):
    from adlens.core.steer import generate

    texts: list[str] = []
    for tokens in sorted({r[2] for r in rows}):
        group = [r for r in rows if r[2] == tokens]
        texts += generate(
            pair,
            [r[0] for r in group],
            layer=layer,
            vector=v,
            strengths=[r[1] for r in group],
            temperature=1.2,
            max_new_tokens=tokens,
            max_batch=batch,
            seed=1,
        )
    return texts


def run_naive(pair: Any, rows: list[tuple[str, float, int]], layer: int, v: Any) -> list[str]:
    import torch

    from adlens.core.hooks import add_to_layer
    from adlens.core.steer import encode_prompts, pad_token_id

    tok = pair.tokenizer
    texts = []
    with pair.use("finetuned", upto=pair.n_layers - 1) as model, torch.inference_mode():
        for prompt, strength, tokens in rows:
            ids = torch.tensor(encode_prompts(tok, [prompt]))
            with add_to_layer(model, layer, strength * v):
                out = model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=True,
                    temperature=1.2,
                    top_k=0,
                    max_new_tokens=tokens,
                    pad_token_id=pad_token_id(tok),
                )
            texts.append(tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
    return texts


def count_tokens(tokenizer: Any, texts: list[str]) -> int:
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "mixed", "bfloat16"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--naive-rows", type=int, default=12)
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument(
        "--busy", action="store_true", help="also measure beside one process keeping a core busy"
    )
    args = ap.parse_args(argv)

    import torch

    from adlens.core.chat_prompts import load_prompts
    from adlens.core.models import ModelPair
    from adlens.store.model_assets import resolve_model

    if args.threads:
        torch.set_num_threads(args.threads)
    adapter = next((p for p in DEMO_ADAPTERS if (p / "adapter_config.json").exists()), None)
    if adapter is None:
        sys.exit("the demo organism is missing (src/adlens/organisms/demo)")
    pair = ModelPair.load(resolve_model("smollm2-135m-instruct"), str(adapter), dtype=args.dtype)
    layer = pair.n_layers // 2
    rows = workload(load_prompts("everyday-search"), load_prompts("everyday"))
    step = max(1, len(rows) // args.naive_rows)
    naive_rows = rows[::step][: args.naive_rows]
    v = steering_vector(pair, layer, "The weather was mild and the market was busy that day.")
    run_adlens(pair, rows[:4], layer, v, args.max_batch)  # warm-up, untimed
    run_naive(pair, naive_rows[:1], layer, v)

    def measure() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        figures: dict[str, list[float]] = {"adlens": [], "naive": []}
        others: dict[str, list[float]] = {"adlens": [], "naive": []}
        for _ in range(args.repeats):  # the methods alternate
            wall, other, texts = timed(lambda: run_adlens(pair, rows, layer, v, args.max_batch))
            figures["adlens"].append(count_tokens(pair.tokenizer, texts) / wall)
            others["adlens"].append(other)
            wall, other, texts = timed(lambda: run_naive(pair, naive_rows, layer, v))
            figures["naive"].append(count_tokens(pair.tokenizer, texts) / wall)
            others["naive"].append(other)
        return figures, others

    figures, others = measure()
    busy = None
    if args.busy:
        with BusyNeighbour():
            busy = measure()

    print(
        f"steering generation, {args.dtype}, torch threads {torch.get_num_threads()}, "
        f"layer {layer} of {pair.n_layers}, {args.repeats} repeats (median [min-max])"
    )
    print(
        f"workload: {len(rows)} rows (28 x 48 tokens, {len(rows) - 28} x 64 tokens); "
        f"naive on {len(naive_rows)} of them"
    )
    for name in ("adlens", "naive"):
        print(
            f"  {name:7s} {spread(figures[name])} generated tokens/s   "
            f"(other processes: {spread(others[name])} cores)"
        )
        if max(others[name]) > 0.25:
            print(
                f"  WARNING: other processes used up to {max(others[name]):.2f} cores "
                f"during {name} runs; rerun on a quiet machine"
            )
    ratios = [a / b for a, b in zip(figures["adlens"], figures["naive"], strict=True)]
    if busy is not None:
        b_fig, b_oth = busy
        b_ratios = [a / b for a, b in zip(b_fig["adlens"], b_fig["naive"], strict=True)]
        print("beside one busy process:")
        for name in ("adlens", "naive"):
            kept = statistics.median(b_fig[name]) / statistics.median(figures[name])
            print(
                f"  {name:7s} {spread(b_fig[name])} generated tokens/s   "
                f"(other processes: {spread(b_oth[name])} cores; {100 * kept:.0f}% of idle)"
            )
        print(
            f"  ratio beside one busy process: {statistics.median(b_ratios):.1f}x "
            f"(idle {statistics.median(ratios):.1f}x)"
        )
    summary = {
        "dtype": args.dtype,
        "threads": torch.get_num_threads(),
        "rows": len(rows),
        "naive_rows": len(naive_rows),
        "tokens_per_s": {k: statistics.median(x) for k, x in figures.items()},
        "ratio_median": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "other_cores_max": max(max(x) for x in others.values()),
    }
    if busy is not None:
        summary["busy_tokens_per_s"] = {k: statistics.median(x) for k, x in busy[0].items()}
    print("json:", json.dumps(summary))
    print(f"ratio: {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
