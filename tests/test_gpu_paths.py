"""GPU code paths exercised on a CPU: half-precision dtypes, device_map="auto", tensors that follow
each block's own device and dtype, the generation batch estimate and the out-of-memory retry."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from conftest import CORPUS, save_model, tiny_model

REPO = Path(__file__).resolve().parents[1]
TEXTS = [f"{CORPUS[i % 6]} Item {i}." for i in range(24)]
LAYERS = [1, 3]  # a middle layer and the last (4-layer tiny models)
# Relative error of the mean difference against float32 (measured: bf16 7e-3, fp16 8e-4).
HALF_TOLERANCE = {"bfloat16": 3e-2, "float16": 5e-3}


@pytest.fixture(scope="module")
def full_pair_dirs(tiny_dirs):
    return str(tiny_dirs["base"]), str(tiny_dirs["ft"])


def _load(dirs, dtype="float32", **kw):
    from adlens.core.models import ModelPair

    return ModelPair.load(dirs[0], dirs[1], dtype=dtype, device="cpu", **kw)


def _collect(pair):
    from adlens.core.collect import collect
    from adlens.core.tokenization import tokenize_documents

    docs = tokenize_documents(pair.tokenizer, TEXTS, positions=4, n_docs=len(TEXTS))
    return collect(pair, docs, LAYERS, batch_size=8, show_progress=False)


@pytest.fixture(scope="module")
def fp32_diff(full_pair_dirs):
    return _collect(_load(full_pair_dirs))


# --------------------------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------------------------


def test_auto_dtype_per_device(monkeypatch):
    from adlens.core.model_loading import resolve_dtype
    from adlens.errors import AdlensError

    cuda = torch.device("cuda")
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32  # the CPU default
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_dtype("auto", cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_dtype("auto", cuda) == torch.float16  # e.g. a V100 or T4
    assert resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    assert resolve_dtype("float16", cuda) == torch.float16
    with pytest.raises(AdlensError, match="Unknown dtype"):
        resolve_dtype("int8", cuda)


def test_cpu_auto_dtype_from_the_environment(monkeypatch):
    from adlens.core.config import ModelsConfig
    from adlens.core.model_loading import ENV_CPU_DTYPE, resolve_dtype
    from adlens.errors import AdlensError
    from adlens.pipeline.hashes import _models_hashed

    cpu = torch.device("cpu")
    models = ModelsConfig(base="b", finetuned="f", device="cpu")
    fp32_hash = _models_hashed(models)
    assert "auto_dtype" not in fp32_hash  # fp32 runs cached before the variable keep their hash
    monkeypatch.setenv(ENV_CPU_DTYPE, "bfloat16")
    assert resolve_dtype("auto", cpu) == torch.bfloat16
    assert _models_hashed(models) == {**fp32_hash, "auto_dtype": "bfloat16"}  # another run
    assert resolve_dtype("float32", cpu) == torch.float32  # an explicit --dtype wins
    monkeypatch.setenv(ENV_CPU_DTYPE, "mixed")
    assert resolve_dtype("auto", cpu) == torch.float32  # the weights; the products autocast
    assert _models_hashed(models) == {**fp32_hash, "auto_dtype": "mixed"}
    monkeypatch.setenv(ENV_CPU_DTYPE, "float16")
    with pytest.raises(AdlensError, match="use float32, mixed or bfloat16"):
        resolve_dtype("auto", cpu)


def test_mixed_precision_autocasts_the_products_and_keeps_fp32_weights(
    tmp_path, tokenizer, monkeypatch
):
    """--dtype mixed: float32 weights, bf16 matrix products inside `pair.use`; the mean
    difference stays near float32's, and differs from it (the products really are bf16)."""
    from adlens.core.collect import collect
    from adlens.core.model_loading import ENV_CPU_DTYPE, autocast_dtype
    from adlens.core.models import ModelPair
    from adlens.core.tokenization import tokenize_documents

    cpu = torch.device("cpu")
    assert autocast_dtype("mixed", cpu) == torch.bfloat16
    assert autocast_dtype("auto", cpu) is None and autocast_dtype("bfloat16", cpu) is None
    monkeypatch.setenv(ENV_CPU_DTYPE, "mixed")
    assert autocast_dtype("auto", cpu) == torch.bfloat16
    base = save_model(tiny_model("llama", len(tokenizer), seed=0), tokenizer, tmp_path / "b")
    ft_model = tiny_model("llama", len(tokenizer), seed=0)
    with torch.no_grad():
        for p in ft_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ft = save_model(ft_model, tokenizer, tmp_path / "f")
    diffs = {}
    for dtype in ("float32", "mixed"):
        pair = ModelPair.load(str(base), str(ft), dtype=dtype, device="cpu")
        assert next(pair.finetuned.parameters()).dtype == torch.float32
        with pair.use("base"):
            assert torch.is_autocast_enabled("cpu") == (dtype == "mixed")
        assert not torch.is_autocast_enabled("cpu")
        assert pair.info["autocast"] == (None if dtype == "float32" else "bfloat16")
        docs = tokenize_documents(tokenizer, CORPUS * 4, positions=3, n_docs=24)
        diffs[dtype] = collect(pair, docs, [1], show_progress=False).mean_diff
    rel = (diffs["mixed"] - diffs["float32"]).norm() / diffs["float32"].norm()
    assert 0 < rel < 0.05


def test_gemma3_auto_is_float32_eager(monkeypatch, tmp_path, tokenizer, caplog):
    from adlens.core.model_loading import resolve_precision
    from adlens.core.models import ModelPair
    from conftest import tiny_config

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    cuda = torch.device("cuda")
    gemma = tiny_config("gemma3", len(tokenizer))
    assert gemma.model_type == "gemma3_text"
    assert resolve_precision("auto", cuda, gemma) == (torch.float32, "eager")
    assert resolve_precision("auto", cuda, SimpleNamespace(model_type="gemma3")) == (
        torch.float32,
        "eager",
    )
    assert resolve_precision("bfloat16", cuda, gemma) == (torch.bfloat16, None)  # as asked
    llama = tiny_config("llama", len(tokenizer))
    assert resolve_precision("auto", cuda, llama) == (torch.bfloat16, None)

    # Loaded: float32 weights, eager attention, recorded in the pair's info, and logged.
    path = save_model(tiny_model("gemma3", len(tokenizer)), tokenizer, tmp_path / "g")
    with caplog.at_level("INFO", logger="adlens.core.model_loading"):
        pair = ModelPair.load(str(path), str(path), device="cpu")
    assert "eager" in caplog.text and "gemma3" in caplog.text
    assert next(pair.finetuned.parameters()).dtype == torch.float32
    assert pair.finetuned.config._attn_implementation == "eager"
    assert pair.info["attn_implementation"] == "eager" and pair.info["dtype"] == "float32"


def test_running_sums_are_float64():
    from adlens.core.collect import RunningSums

    sums = RunningSums(1, 1, 2)
    big = torch.full((1, 1, 1, 2), 1e8, dtype=torch.bfloat16).float()  # bf16 holds 1e8 roughly
    zero = torch.zeros_like(big)
    sums.add(zero, big)
    for _ in range(10):
        sums.add(zero, torch.ones_like(big))
    assert all(v.dtype == torch.float64 for v in sums.sums.values())
    # float32 sums would lose the ten ones against 1e8 (its spacing there is 8)
    expected = float(big[0, 0, 0, 0].double()) + 10.0
    assert sums.sums["diff"][0, 0, 0].item() == expected
    assert sums.sums["ft"][0, 0, 0].item() == expected


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_collect_patchscope_steer_lens(full_pair_dirs, fp32_diff, dtype):
    from adlens.core.hooks import forward_until
    from adlens.core.lens import head_logits
    from adlens.core.patchscope import patched_probs
    from adlens.core.steer import generate, steering_vector

    pair = _load(full_pair_dirs, dtype)
    assert next(pair.finetuned.parameters()).dtype == getattr(torch, dtype)
    diff = _collect(pair)
    assert diff.mean_diff.dtype == torch.float32
    a, b = diff.mean_diff, fp32_diff.mean_diff
    rel = float((a - b).norm() / b.norm())
    assert rel < HALF_TOLERANCE[dtype], rel
    assert rel > 0  # it really ran in half precision

    # Patchscope: float32 vectors patched into the half-precision model, read in float32.
    v = diff.vector(1, 2)
    vecs = torch.stack([v, 2 * v]) / v.norm() * float(diff.expected_norm["finetuned"][0])
    probs = patched_probs(pair, 1, vecs, triples=[["cat", "dog", "sun"]])
    assert probs.dtype == torch.float32 and probs.shape[:2] == (1, 2)
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, 2), rtol=1e-4, atol=1e-4)

    # Steered generation: a float32 vector added to a half-precision block.
    diff.expected_norm = {side: diff.pos_norm_ft[:, -1] for side in ("base", "finetuned")}
    texts = generate(
        pair, ["Hello there", "Hi"], layer=1, vector=steering_vector(diff, 1, 2),
        strengths=[0.0, 2.0], max_new_tokens=4,
    )  # fmt: skip
    assert len(texts) == 2

    # The lens of the last block's output is the model's own logits, in the same dtype.
    ids = torch.tensor([pair.tokenizer("The quick brown fox")["input_ids"]])
    with torch.inference_mode():
        h = forward_until(pair.finetuned, [pair.n_layers - 1], input_ids=ids)[pair.n_layers - 1]
        real = pair.finetuned(input_ids=ids).logits[0, -1].float()
    lens = head_logits(pair, h[0, -1:].float())[0]
    assert lens.dtype == torch.float32
    torch.testing.assert_close(lens, real, rtol=0, atol=1e-6 * float(real.abs().max()) + 1e-6)


# --------------------------------------------------------------------------------------------
# device_map and per-block placement
# --------------------------------------------------------------------------------------------


def test_device_map_auto_matches_plain_load(full_pair_dirs, fp32_diff):
    pair = _load(full_pair_dirs, device_map="auto")
    assert pair.info["device_map"] == "auto"
    assert pair.device.type == "cpu"
    diff = _collect(pair)
    assert torch.equal(diff.mean_diff, fp32_diff.mean_diff)
    assert torch.equal(diff.mean_base, fp32_diff.mean_base)


class _Block(nn.Module):
    """A decoder block that passes its input through; its weight's dtype is its own."""

    def __init__(self, dtype: torch.dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(4, dtype=dtype), requires_grad=False)

    def forward(self, x):
        return (x,)


class _Model(nn.Module):
    """A float32 embedding, then blocks of another dtype: the first parameter is not the
    block's."""

    def __init__(self, block_dtype: torch.dtype):
        super().__init__()
        self.config = SimpleNamespace(num_hidden_layers=2, hidden_size=4)
        self.embed = nn.Parameter(torch.zeros(4), requires_grad=False)
        self.layers = nn.ModuleList([_Block(block_dtype), _Block(block_dtype)])

    def forward(self, x):
        for block in self.layers:
            x = block(x)[0]
        return x


def test_hook_vector_follows_the_block_not_the_first_parameter():
    from adlens.core.hooks import add_to_layer, module_placement, replace_last_token

    model = _Model(torch.bfloat16)
    assert next(model.parameters()).dtype == torch.float32
    assert module_placement(model.layers[1]) == (torch.device("cpu"), torch.bfloat16)
    x = torch.zeros(1, 3, 4)
    v = torch.tensor([1.001, 2.003, 3.007, 0.1234567])
    with add_to_layer(model, 1, v):
        out = model(x)
    # the vector went through the block's dtype (bf16), then back to the output's (float32)
    torch.testing.assert_close(out[0, 0], v.bfloat16().float(), rtol=0, atol=0)
    assert not torch.equal(out[0, 0], v)
    with replace_last_token(model, 0, v[None]):
        out = model(x)
    assert torch.equal(out[0, -1], v.bfloat16().float()) and torch.equal(out[0, 0], x[0, 0])


def test_placement_of_an_offloaded_block():
    from adlens.core.hooks import module_placement

    block = _Block(torch.float16).to("meta")  # offloaded: weights on meta until it runs
    assert module_placement(block) == (torch.device("meta"), torch.float16)
    block._hf_hook = SimpleNamespace(execution_device="cpu")  # accelerate's AlignDevicesHook
    assert module_placement(block) == (torch.device("cpu"), torch.float16)
    block._hf_hook = SimpleNamespace(execution_device=1)
    assert module_placement(block) == (torch.device("cuda", 1), torch.float16)
    assert module_placement(nn.Identity()) is None


# --------------------------------------------------------------------------------------------
# Generation batch size and the out-of-memory retry
# --------------------------------------------------------------------------------------------


def test_rows_that_fit_by_hand():
    from adlens.core.batching import KVGeometry, row_bytes, rows_that_fit

    # Qwen3-8B in bf16: 36 layers x 2 x 8 kv heads x 128 x 2 bytes = 147,456 bytes per token.
    g = KVGeometry(layers=36, kv_heads=8, head_dim=128, bytes_per_value=2, vocab=151_936)
    assert g.bytes_per_token == 147_456
    per_row = 147_456 * (200 + 512) + 4 * 4 * 151_936  # 104,988,672 + 2,430,976
    assert row_bytes(g, 712) == per_row == 107_419_648
    free = 60 * 2**30  # 60 GiB free beside the weights
    assert rows_that_fit(free, g, 712, max_batch=10_000) == int(0.5 * free) // per_row == 299
    assert rows_that_fit(free, g, 712, max_batch=64) == 64  # capped by max_batch
    assert rows_that_fit(free, g, 712, max_batch=10_000, safety=0.25) == 149
    assert rows_that_fit(10 * 2**20, g, 712, max_batch=64) == 1  # never below one row
    assert rows_that_fit(0, g, 712, max_batch=64) == 1


def test_generation_batch_reads_the_model(full_pair_dirs):
    from adlens.core.batching import generation_batch, kv_geometry

    model = _load(full_pair_dirs).finetuned  # tiny llama: 4 layers, 2 kv heads of 16, fp32
    g = kv_geometry(model)
    assert (g.layers, g.kv_heads, g.head_dim, g.bytes_per_value) == (4, 2, 16, 4)
    assert g.vocab == model.config.vocab_size
    assert generation_batch(model, prompt_tokens=10, new_tokens=20, max_batch=64) == 64  # CPU
    per_row = 4 * 2 * 2 * 16 * 4 * 30 + 16 * g.vocab
    fits = generation_batch(
        model, prompt_tokens=10, new_tokens=20, max_batch=64, free_bytes=2 * 10 * per_row
    )
    assert fits == 10


def test_out_of_memory_halves_the_batch_and_keeps_every_row(full_pair_dirs, monkeypatch, caplog):
    from adlens.core import steer
    from adlens.core.batching import run_in_batches

    # The retry on its own: rows in order, each once, the failing batches halved.
    calls = []

    def run(lo, hi):
        calls.append((lo, hi))
        if hi - lo > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return list(range(lo, hi))

    done = []
    assert run_in_batches(10, 8, run, on_done=done.append) == list(range(10))
    assert calls == [(0, 8), (0, 4), (4, 8), (8, 10)] and done == [4, 4, 2]
    with pytest.raises(torch.OutOfMemoryError):
        run_in_batches(2, 1, lambda lo, hi: (_ for _ in ()).throw(torch.OutOfMemoryError()))
    with pytest.raises(ValueError):  # any other error is not retried
        run_in_batches(4, 4, lambda lo, hi: (_ for _ in ()).throw(ValueError("bad")))

    # In generate: a sampler that runs out of memory above 2 rows returns what the unbatched
    # run returns (greedy decoding: every row's answer is its own).
    pair = _load(full_pair_dirs)
    real = steer.sample_rows
    sizes = []

    def limited(model, rows, **kw):
        sizes.append(len(rows))
        if len(rows) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(model, rows, **kw)

    prompts = ["Hello there", "Hi", "Tell me a story about the river", "Seven horses", "A"]
    v = torch.randn(pair.d_model)
    kw = dict(layer=1, vector=v, strengths=[0.0, 1.0, 2.0, 3.0, 4.0], max_new_tokens=5)
    unbatched = steer.generate(pair, prompts, max_batch=5, temperature=0, **kw)
    monkeypatch.setattr(steer, "sample_rows", limited)
    with caplog.at_level("WARNING", logger="adlens.core.batching"):
        batched = steer.generate(pair, prompts, max_batch=5, temperature=0, **kw)
    assert batched == unbatched
    assert sizes == [5, 2, 2, 1] and "out of GPU memory at 5 rows" in caplog.text


# --------------------------------------------------------------------------------------------
# bench/gpu.py
# --------------------------------------------------------------------------------------------


def test_gpu_bench_smoke(full_pair_dirs, tmp_path):
    """The GPU benchmark on the CPU with a tiny pair and tiny counts (well under 30 s)."""
    import json

    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable, str(REPO / "bench" / "gpu.py"), "--base", full_pair_dirs[0],
            "--finetuned", full_pair_dirs[1], "--device", "cpu", "--documents", "16", "--positions", "4",
            "--repeats", "2", "--scales", "2", "--prompts", "2", "--new-tokens", "4",
            "--dataset", str(corpus), "--rows", "3",
        ],
        capture_output=True, text=True, timeout=120,
        env={"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for line in (
        "collection",
        "documents/s",
        "tokens/s",
        "Patchscope",
        "s per (vector, scale)",
        "steering generation",
        "generated tokens/s",
        "auto batch",
        "paper preset per organism",
    ):
        assert line in out, (line, out)
    estimate = next(x for x in out.splitlines() if x.startswith("paper preset per organism"))
    assert estimate.split(": ")[1].split(" h ")[0].replace(".", "").isdigit(), estimate
    assert "10000 documents" in out and "16 documents x 4 positions" in out
    assert "3 rows x 4 new tokens, auto batch 64" in out  # on a CPU: max_batch
    assert time.perf_counter() - t0 < 30
