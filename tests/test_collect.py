"""The engine against independent computations: full-length forwards, planted differences."""

from __future__ import annotations

import copy

import pytest
import torch
from safetensors.torch import load_file

from adlens.core.activations import ActivationDiff
from adlens.core.collect import collect, expected_norms
from adlens.core.models import ModelPair
from adlens.core.tokenization import tokenize_documents, tokenize_for_norms
from conftest import CORPUS, tiny_model

DOCS = [f"{CORPUS[i % len(CORPUS)]} Item number {i} follows here." for i in range(37)]


def _full_pair(tokenizer, perturb: float = 0.05):
    base = tiny_model("qwen3", len(tokenizer), seed=0)
    ft = copy.deepcopy(base)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(perturb * torch.randn_like(p))
    return ModelPair(finetuned=ft, base_model=base, tokenizer=tokenizer)


def _reference(pair, texts, layers, k):
    """Independent computation: full-length inputs, output_hidden_states, kept activations."""
    diffs, bases, fts = [], [], []
    for text in texts:
        ids = pair.tokenizer(text, return_tensors="pt")["input_ids"]
        if ids.shape[1] < k:
            continue
        with torch.no_grad():
            hb = pair.base_model(input_ids=ids, output_hidden_states=True).hidden_states
            hf = pair.finetuned(input_ids=ids, output_hidden_states=True).hidden_states
        b = torch.stack([hb[layer + 1][0, :k] for layer in layers])
        f = torch.stack([hf[layer + 1][0, :k] for layer in layers])
        diffs.append(f - b)
        bases.append(b)
        fts.append(f)
    return (
        torch.stack(diffs).mean(0),
        torch.stack(bases).mean(0),
        torch.stack(fts).mean(0),
        len(diffs),
    )


@pytest.mark.parametrize("batch_size", [1, 8, 64])
def test_means_equal_full_length_reference(tokenizer, batch_size):
    pair = _full_pair(tokenizer)
    layers, k = [0, 2], 5
    docs = tokenize_documents(tokenizer, DOCS, positions=k, n_docs=len(DOCS))
    diff = collect(pair, docs, layers, batch_size=batch_size, show_progress=False)
    ref_diff, ref_base, ref_ft, n = _reference(pair, DOCS, layers, k)
    assert diff.n_docs == n == len(DOCS)
    torch.testing.assert_close(diff.mean_diff, ref_diff, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(diff.mean_base, ref_base, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(diff.mean_ft, ref_ft, rtol=1e-4, atol=1e-5)


def test_planted_difference_recovered_exactly(tokenizer):
    """A bias added to one block's MLP output shifts that block's output by exactly the bias."""
    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = copy.deepcopy(base)
    bias = torch.randn(64)
    old = ft.model.layers[1].mlp.down_proj
    new = torch.nn.Linear(old.in_features, old.out_features, bias=True)
    with torch.no_grad():
        new.weight.copy_(old.weight)
        new.bias.copy_(bias)
    ft.model.layers[1].mlp.down_proj = new
    pair = ModelPair(finetuned=ft, base_model=base, tokenizer=tokenizer)
    docs = tokenize_documents(tokenizer, DOCS, positions=4, n_docs=20)
    diff = collect(pair, docs, [0, 1], batch_size=7, show_progress=False)
    assert diff.mean_diff[0].abs().max() < 1e-6  # layer 0 is untouched
    torch.testing.assert_close(diff.mean_diff[1], bias.expand(4, -1), rtol=1e-5, atol=1e-5)


def test_lora_pair_matches_reference(tiny_dirs, tokenizer):
    pair = ModelPair.load(
        str(tiny_dirs["base"]), str(tiny_dirs["adapter"]), dtype="float32", device="cpu"
    )
    docs = tokenize_documents(tokenizer, DOCS, positions=5, n_docs=len(DOCS))
    diff = collect(pair, docs, [1], batch_size=16, show_progress=False)
    # Reference from two separately loaded models.
    full = ModelPair.load(
        str(tiny_dirs["base"]), str(tiny_dirs["base"]), dtype="float32", device="cpu"
    )
    with pair.use("finetuned") as m:
        merged = copy.deepcopy(m).merge_and_unload()
    ref_pair = ModelPair(finetuned=merged, base_model=full.base_model, tokenizer=tokenizer)
    ref_diff, *_ = _reference(ref_pair, DOCS, [1], 5)
    torch.testing.assert_close(diff.mean_diff, ref_diff, rtol=1e-4, atol=1e-5)


def test_chat_positions_count_from_the_answer(tokenizer):
    pair = _full_pair(tokenizer)
    chats = [
        [
            {"role": "user", "content": CORPUS[i % 6]},
            {"role": "assistant", "content": CORPUS[(i + 1) % 6] + " More words follow now."},
        ]
        for i in range(10)
    ]
    docs = tokenize_documents(tokenizer, chats, positions=3, n_docs=10)
    assert docs.chat and docs.labels == [-3, -2, -1, 0, 1, 2]
    diff = collect(pair, docs, [1], batch_size=4, show_progress=False)
    # Reference: position 0 is the first answer token of each full conversation.
    refs = []
    for chat in chats:
        prompt = tokenizer.apply_chat_template(chat[:1], add_generation_prompt=True, tokenize=True)
        prompt = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
        full = tokenizer.apply_chat_template(chat, tokenize=True)
        full = torch.tensor(full["input_ids"] if hasattr(full, "keys") else full)[None]
        start = len(prompt)
        with torch.no_grad():
            hb = pair.base_model(input_ids=full, output_hidden_states=True).hidden_states[2]
            hf = pair.finetuned(input_ids=full, output_hidden_states=True).hidden_states[2]
        refs.append((hf - hb)[0, start - 3 : start + 3])
    torch.testing.assert_close(diff.mean_diff[0], torch.stack(refs).mean(0), rtol=1e-4, atol=1e-5)


def test_short_documents_dropped_and_counted(tokenizer):
    texts = ["hi", "The quick brown fox jumps over the lazy dog", "ok", *DOCS[:5]]
    docs = tokenize_documents(tokenizer, texts, positions=6, n_docs=100)
    assert len(docs) == 6 and docs.n_dropped == 2 and docs.n_seen == len(texts)
    assert docs.bos_at_0


def test_expected_norm_skips_first_positions(tokenizer):
    pair = _full_pair(tokenizer)
    ids, mask = tokenize_for_norms(tokenizer, DOCS, n_docs=8, max_tokens=20, skip=5)
    got = expected_norms(pair, [1], ids, mask, skip=5)
    with torch.no_grad():
        h = pair.base_model(
            input_ids=ids, attention_mask=mask, output_hidden_states=True
        ).hidden_states[2]
    keep = mask.bool().clone()
    keep[:, :5] = False
    torch.testing.assert_close(got["base"][0], h.norm(dim=-1)[keep].mean(), rtol=1e-4, atol=1e-4)


def test_interrupted_collection_resumes_to_the_same_result(tokenizer, tmp_path):
    pair = _full_pair(tokenizer)
    docs = tokenize_documents(tokenizer, DOCS, positions=5, n_docs=len(DOCS))
    full = collect(pair, docs, [1], batch_size=4, show_progress=False)
    ckpt = tmp_path / "partial.safetensors"

    def stop_after(n):
        if n >= 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect(
            pair,
            docs,
            [1],
            batch_size=4,
            checkpoint=ckpt,
            checkpoint_tag="t",
            on_batch=stop_after,
            show_progress=False,
        )
    saved = load_file(ckpt)
    assert int(saved["count"][0]) == 12  # the interrupt saved the three finished batches
    resumed = collect(
        pair, docs, [1], batch_size=4, checkpoint=ckpt, checkpoint_tag="t", show_progress=False
    )
    assert resumed.meta["resumed_from"] == 12
    expected = full.tensors()
    assert all(torch.equal(t, expected[k]) for k, t in resumed.tensors().items())
    # A checkpoint from another config is never trusted.
    other = collect(
        pair, docs, [1], batch_size=4, checkpoint=ckpt, checkpoint_tag="other", show_progress=False
    )
    assert other.meta["resumed_from"] == 0


def test_save_load_roundtrip(tokenizer, tmp_path):
    pair = _full_pair(tokenizer)
    docs = tokenize_documents(tokenizer, DOCS, positions=5, n_docs=10)
    norm = tokenize_for_norms(tokenizer, DOCS, n_docs=4, max_tokens=16, skip=5)
    diff = collect(pair, docs, [0, 3], norm_inputs=norm, show_progress=False)
    diff.save(tmp_path)
    back = ActivationDiff.load(tmp_path)
    assert back.layers == [0, 3] and back.labels == diff.labels and back.n_docs == 10
    torch.testing.assert_close(back.mean_diff, diff.mean_diff)
    torch.testing.assert_close(back.expected_norm["finetuned"], diff.expected_norm["finetuned"])
    assert (back.vector(3, 2, "neg_diff") == -diff.vector(3, 2, "diff")).all()


def test_merged_lora_view_matches_and_restores_exactly(tiny_dirs, tokenizer):
    pair = ModelPair.load(
        str(tiny_dirs["base"]), str(tiny_dirs["adapter"]), dtype="float32", device="cpu"
    )
    assert pair.merge_lora  # on by default on CPU
    params = {n: p for n, p in pair.finetuned.named_parameters()}
    snapshot = {n: p.detach().clone() for n, p in params.items()}
    docs = tokenize_documents(tokenizer, DOCS, positions=5, n_docs=len(DOCS))
    fast = collect(pair, docs, [2], batch_size=16, show_progress=False)
    pair.merge_lora = False
    slow = collect(pair, docs, [2], batch_size=16, show_progress=False)
    torch.testing.assert_close(fast.mean_diff, slow.mean_diff, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.mean_base, slow.mean_base, rtol=0, atol=0)
    after = dict(pair.finetuned.named_parameters())
    assert after.keys() == params.keys()
    for n, p in after.items():  # the very same tensors, bit for bit
        assert p is params[n] and torch.equal(p, snapshot[n]), n
