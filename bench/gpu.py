"""Benchmark adlens on a GPU: throughput and peak memory of collection, Patchscope and steered
generation for one model pair, and what the paper preset costs per organism on that device.

    python bench/gpu.py --base Qwen/Qwen3-1.7B --finetuned path/to/adapter
    python bench/gpu.py --base ... --finetuned ... --dtype float16 --documents 2000
    python bench/gpu.py --device cpu --documents 32 --rows 4 --new-tokens 16   # demo pair, CPU

The three phases run in turn within each repeat (interleaved, so drift in clocks or load hits
all of them alike); times are medians over the repeats, with [min-max]. Peak memory is
torch.cuda.max_memory_allocated, reset before each phase (the largest over the repeats).
Without --base/--finetuned the offline demo pair is used (SmolLM2-135M-Instruct and the demo
organism). Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DEMO_ADAPTER = REPO / "src" / "adlens" / "organisms" / "demo"

# The paper preset per organism (PROTOCOL.md): 10,000 documents; Patchscope of every variant at
# 5 positions x 30 scales x 3 prompts; the strength search (3 prompts, 10 samples of 128 tokens
# per strength, 12 steps then 6, 3 tree levels = 7 strengths per round) and 5 positions x 20
# prompts x 5 samples x 512 tokens of final samples.
PAPER = dict(
    documents=10_000,
    positions=5,
    scales=30,
    prompts=3,
    final_prompts=20,
    final_samples=5,
    final_tokens=512,
)


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Phase:
    """Wall time and peak GPU memory of one phase, gathered over the repeats."""

    def __init__(self, device: Any):
        self.device, self.times, self.peak = device, [], 0

    def run(self, fn: Callable[[], Any]) -> Any:
        import torch

        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        _sync(self.device)
        t0 = time.perf_counter()
        out = fn()
        _sync(self.device)
        self.times.append(time.perf_counter() - t0)
        if cuda:
            self.peak = max(self.peak, torch.cuda.max_memory_allocated(self.device))
        return out

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def line(self, rates: str) -> str:
        spread = f"[{min(self.times):.3g}-{max(self.times):.3g}]"
        peak = f"peak {self.peak / 2**30:.2f} GiB" if self.device.type == "cuda" else "peak n/a"
        return f"  median {self.median:.4g} s {spread}   {rates}   {peak}"


def _texts(dataset: str, tokenizer: Any, n: int, k: int) -> list[str]:
    """The first n documents of `dataset` with at least k tokens."""
    from adlens.core.data import TextSource, iter_documents

    out: list[str] = []
    for doc in iter_documents(TextSource(name=dataset)):
        if len(out) >= n:
            break
        if (
            isinstance(doc, str)
            and len(tokenizer(doc, max_length=k, truncation=True)["input_ids"]) >= k
        ):
            out.append(doc)
    if len(out) < n:
        print(f"  (only {len(out)} documents of {k}+ tokens in {dataset})")
    return out


def _search_tokens(positions: int) -> tuple[int, str]:
    """Tokens the strength search generates at most (every strength sampled in full)."""
    from adlens.core.config import SteerConfig

    cfg = SteerConfig()
    per_round = 2**cfg.levels_per_round - 1
    rounds = math.ceil(cfg.first_steps / cfg.levels_per_round) + (PAPER["prompts"] - 1) * (
        math.ceil(cfg.other_steps / cfg.levels_per_round)
    )
    tokens = positions * rounds * per_round * cfg.search_samples * cfg.search_max_new_tokens
    how = (
        f"{positions} positions x {rounds} rounds x {per_round} strengths x "
        f"{cfg.search_samples} samples x {cfg.search_max_new_tokens} tokens"
    )
    return tokens, how


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--base", default=None, help="base model (hub id or folder; default: demo)")
    ap.add_argument("--finetuned", default=None, help="finetuned model or adapter")
    ap.add_argument("--dtype", default="auto", help="auto, float32, bfloat16, float16")
    ap.add_argument("--device", default="auto", help="auto, cuda, cuda:1, cpu")
    ap.add_argument("--device-map", default=None, help="'auto': spread over the GPUs")
    ap.add_argument("--dataset", default="brown", help="documents (a built-in corpus or a file)")
    ap.add_argument("--documents", type=int, default=1000, help="documents collected")
    ap.add_argument("--positions", type=int, default=5, help="positions read per document")
    ap.add_argument("--batch-size", type=int, default=256, help="documents per forward pass")
    ap.add_argument("--scales", type=int, default=30, help="Patchscope scales (of the 30)")
    ap.add_argument("--prompts", type=int, default=3, help="Patchscope identity prompts (of 3)")
    ap.add_argument("--rows", type=int, default=None, help="generated rows (default: auto batch)")
    ap.add_argument("--new-tokens", type=int, default=128, help="tokens per generated row")
    ap.add_argument("--max-batch", type=int, default=64, help="cap of the generation batch")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of each phase")
    args = ap.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    from adlens.core.batching import SAFETY, free_memory, generation_batch, kv_geometry, row_bytes
    from adlens.core.chat_prompts import CHAT_PROMPTS
    from adlens.core.collect import collect
    from adlens.core.hooks import forward_until
    from adlens.core.lens import VARIANTS
    from adlens.core.models import ModelPair
    from adlens.core.patchscope import default_scales, patched_probs
    from adlens.core.steer import encode_prompts, generate
    from adlens.core.tokenization import tokenize_documents
    from adlens.core.vocab import IDENTITY_TRIPLES

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    base, finetuned = args.base, args.finetuned
    if finetuned is None:
        from adlens.store.model_assets import ensure_model

        base, finetuned = str(ensure_model("smollm2-135m-instruct")), str(DEMO_ADAPTER)
    pair = ModelPair.load(
        base, finetuned, dtype=args.dtype, device=args.device, device_map=args.device_map
    )
    device = pair.device
    k, tok = args.positions, pair.tokenizer
    layers = pair.resolve_layers([0.5, 1.0])
    mid = layers[0]
    geo = kv_geometry(pair.finetuned)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        total = torch.cuda.get_device_properties(device).total_memory / 2**30
        where = f"{device} ({name}, {total:.1f} GiB)"
        weights = f"{torch.cuda.memory_allocated(device) / 2**30:.2f} GiB allocated"
    else:
        where, weights = (
            f"{device} ({os.cpu_count()} CPUs, {torch.get_num_threads()} threads)",
            "n/a",
        )

    print("adlens GPU benchmark")
    print(f"  base         {pair.base_id}")
    print(f"  finetuned    {pair.finetuned_id} ({'adapter' if pair.is_adapter else 'full'})")
    print(f"  device       {where}, dtype {pair.info['dtype']}, device_map {args.device_map}")
    print(
        f"  model        {pair.n_layers} layers, d={pair.d_model}, KV {geo.kv_heads} heads x "
        f"{geo.head_dim}, vocab {geo.vocab}"
    )
    print(f"  weights      {weights} after loading the pair")
    print(f"  repeats      {args.repeats} (phases interleaved; median [min-max])")
    print()

    texts = _texts(args.dataset, tok, args.documents, k)
    docs = tokenize_documents(tok, texts, positions=k, n_docs=len(texts))
    n_docs = len(docs)
    scales = default_scales()[: args.scales]
    triples = IDENTITY_TRIPLES[: args.prompts]
    prompts = list(CHAT_PROMPTS)
    encoded = encode_prompts(tok, prompts)
    prompt_tokens = max(len(e) for e in encoded)
    auto = generation_batch(
        pair.finetuned,
        prompt_tokens=prompt_tokens,
        new_tokens=args.new_tokens,
        max_batch=args.max_batch,
    )
    rows = args.rows or auto
    gen_prompts = [prompts[i % len(prompts)] for i in range(rows)]

    # Warm-up, untimed: CUDA context, kernels, the merged adapter view.
    with torch.inference_mode():
        ids = docs.input_ids[: min(4, n_docs)].to(device)
        for side in ("base", "finetuned"):
            with pair.use(side, upto=max(layers)) as model:
                forward_until(model, layers, input_ids=ids)
    diff = collect(pair, docs, layers, batch_size=args.batch_size, show_progress=False)
    pos = diff.labels[min(2, len(diff.labels) - 1)]
    unit = diff.vector(mid, pos)
    unit = unit / unit.norm().clamp_min(1e-12)
    norm = float(diff.pos_norm_ft[0, diff.labels.index(pos)])
    vectors = torch.stack([unit * s * norm for s in scales])
    generate(pair, gen_prompts[:1], layer=mid, vector=unit * norm, max_new_tokens=2)

    phases = {name: Phase(device) for name in ("collect", "patchscope", "generate")}
    for r in range(args.repeats):
        phases["collect"].run(
            lambda: collect(pair, docs, layers, batch_size=args.batch_size, show_progress=False)
        )
        phases["patchscope"].run(lambda: patched_probs(pair, mid, vectors, triples=triples))
        phases["generate"].run(
            lambda r=r: generate(
                pair, gen_prompts, layer=mid, vector=unit * norm, strengths=[1.0] * rows,
                max_new_tokens=args.new_tokens, max_batch=args.max_batch, seed=r,
            )
        )  # fmt: skip

    c, p, g = phases["collect"], phases["patchscope"], phases["generate"]
    docs_s = n_docs / c.median
    tokens_s = n_docs * k * 2 / c.median
    per_vs = p.median / len(scales)
    gen_tokens_s = rows * args.new_tokens / g.median
    free = free_memory(device)
    free_txt = f"{free / 2**30:.1f} GiB free" if free is not None else "no estimate on cpu"

    print(
        f"collection    {n_docs} documents x {k} positions, layers {layers}, batch {args.batch_size}"
    )
    print(c.line(f"{docs_s:.1f} documents/s   {tokens_s:.0f} tokens/s ({k} tokens x 2 models)"))
    print(
        f"Patchscope    layer {mid}, position {pos}, {len(scales)} scales x {len(triples)} prompts"
    )
    print(p.line(f"{per_vs:.4g} s per (vector, scale)"))
    print(
        f"steering generation   {rows} rows x {args.new_tokens} new tokens, auto batch {auto} "
        f"(max {args.max_batch}; KV {geo.bytes_per_token} B/token, "
        f"{row_bytes(geo, prompt_tokens + args.new_tokens) / 2**20:.2f} MiB/row, safety "
        f"{SAFETY}, {free_txt})"
    )
    print(g.line(f"{gen_tokens_s:.1f} generated tokens/s (rows x new tokens)"))
    print()

    P = PAPER
    t_collect = P["documents"] / docs_s
    n_variants = len(VARIANTS)
    t_patch = P["positions"] * n_variants * P["scales"] * per_vs * P["prompts"] / len(triples)
    search, search_how = _search_tokens(P["positions"])
    final = P["positions"] * P["final_prompts"] * P["final_samples"] * P["final_tokens"]
    t_steer = (search + final) / gen_tokens_s
    total = t_collect + t_patch + t_steer
    print(f"paper preset inputs (measured rates on {device}):")
    print(
        f"  collection  {P['documents']} documents / {docs_s:.1f} documents/s = {t_collect:.1f} s"
    )
    print(
        f"  Patchscope  {P['positions']} positions x {n_variants} variants x {P['scales']} scales "
        f"x {per_vs:.4g} s x ({P['prompts']}/{len(triples)} prompts) = {t_patch:.1f} s"
    )
    print(
        f"  steering    search <= {search_how} = {search} tokens; final {P['positions']} x "
        f"{P['final_prompts']} prompts x {P['final_samples']} samples x {P['final_tokens']} "
        f"tokens = {final} tokens; {search + final} / {gen_tokens_s:.1f} tokens/s = {t_steer:.0f} s"
    )
    print(
        f"paper preset per organism: {total / 3600:.2f} h (collection {t_collect:.0f} s + "
        f"Patchscope {t_patch:.0f} s + steering {t_steer:.0f} s; judge calls and loading not "
        "included)"
    )
    summary = {
        "documents_per_s": docs_s,
        "tokens_per_s": tokens_s,
        "patchscope_s_per_vector_scale": per_vs,
        "generated_tokens_per_s": gen_tokens_s,
        "auto_batch": auto,
        "peak_gib": {
            n: ph.peak / 2**30 if device.type == "cuda" else None for n, ph in phases.items()
        },
        "paper_preset_hours": total / 3600,
    }
    print(f"json: {json.dumps(summary)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
