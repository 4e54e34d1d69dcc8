"""The batched sampler (core/sampling.py) against independent computations: greedy decoding
equal to `model.generate`'s (plain, steered per row, rows that stop early), draws that follow
the softmax (a chi-square test), top-p that never leaves the nucleus, and rows whose samples do
not depend on the batch they run in."""

from __future__ import annotations

import pytest
import torch

from adlens.core.hooks import add_to_layer
from adlens.core.sampling import left_pad, next_tokens, sample_rows, stop_token_ids
from adlens.core.steer import encode_prompts, pad_token_id
from conftest import build_tokenizer, tiny_model

LAYER = 1
PROMPTS = ["Hi", "Seven horses run across the field while music plays", "The quick brown fox"]


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    return tiny_model("llama", len(tok), seed=5).requires_grad_(False).eval()


def hf_greedy(model, rows, pad_id, new_tokens, stops, vectors=None):
    """model.generate's greedy answers, cut at the first stop token."""
    ids, mask = left_pad(rows, pad_id)
    hook = add_to_layer(model, LAYER, vectors) if vectors is not None else torch.no_grad()
    with hook, torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=new_tokens,
            pad_token_id=pad_id,
            eos_token_id=sorted(stops),
        )
    answers = []
    for row in out[:, ids.shape[1] :].tolist():
        cut = next((k for k, t in enumerate(row) if t in stops), len(row))
        answers.append(row[:cut])
    return answers


@pytest.mark.parametrize("steered", [False, True])
def test_greedy_equals_generate(model, tok, steered):
    rows = encode_prompts(tok, PROMPTS)
    pad_id = pad_token_id(tok)
    torch.manual_seed(0)
    vectors = 0.3 * torch.randn(len(rows), model.config.hidden_size) if steered else None
    # a stop token the random model actually emits, so that rows leave the batch early
    probe = sample_rows(
        model,
        rows,
        seeds=[0, 1, 2],
        pad_id=pad_id,
        stop_ids=set(),
        max_new_tokens=12,
        temperature=0,
        steer={LAYER: vectors} if steered else None,
    )
    i, k = next(
        (i, k) for i, row in enumerate(probe) for k, t in enumerate(row) if k and t not in row[:k]
    )
    stops = {probe[i][k]}
    with torch.no_grad():
        ours = sample_rows(
            model,
            rows,
            seeds=[0, 1, 2],
            pad_id=pad_id,
            stop_ids=stops,
            max_new_tokens=12,
            temperature=0,
            steer={LAYER: vectors} if steered else None,
        )
    assert ours == hf_greedy(model, rows, pad_id, 12, stops, vectors)
    assert len(ours[i]) == k < 12  # a row stopped early, and left the batch


def test_draws_follow_the_softmax():
    torch.manual_seed(0)
    logits = torch.randn(1, 12) * 1.5
    temperature = 0.8
    p = torch.softmax(logits[0] / temperature, -1)
    n = 6000
    gens = [torch.Generator().manual_seed(i) for i in range(n)]
    draws = next_tokens(logits.expand(n, -1), gens, temperature=temperature)
    counts = torch.bincount(draws, minlength=12).double()
    chi2 = float(((counts - n * p) ** 2 / (n * p)).sum())
    assert chi2 < 31.3  # the 0.999 quantile of chi-square with 11 degrees of freedom


def test_top_p_stays_in_the_nucleus():
    logits = torch.tensor([[3.0, 2.5, 0.0, -1.0, -2.0]])
    p = torch.softmax(logits[0], -1)
    assert p[0] < 0.7 < p[0] + p[1]  # the nucleus at 0.7 is tokens 0 and 1
    gens = [torch.Generator().manual_seed(i) for i in range(500)]
    draws = next_tokens(logits.expand(500, -1), gens, temperature=1.0, top_p=0.7)
    assert set(draws.tolist()) == {0, 1}


def test_a_row_does_not_depend_on_its_batch(model, tok):
    rows = encode_prompts(tok, PROMPTS)
    pad_id = pad_token_id(tok)
    kw = dict(pad_id=pad_id, stop_ids=set(), max_new_tokens=8, temperature=1.0)
    batched = sample_rows(model, rows, seeds=[7, 8, 9], **kw)
    alone = [
        sample_rows(model, [r], seeds=[s], **kw)[0] for r, s in zip(rows, [7, 8, 9], strict=True)
    ]
    assert batched == alone
    assert sample_rows(model, rows, seeds=[7, 8, 9], **kw) == batched  # seeded
    assert sample_rows(model, rows, seeds=[1, 2, 3], **kw) != batched


def test_stop_ids_and_edge_cases(model, tok):
    assert tok.eos_token_id in stop_token_ids(model, tok)
    rows = encode_prompts(tok, PROMPTS[:1])
    assert sample_rows(model, rows, seeds=[0], pad_id=0, stop_ids=set(), max_new_tokens=0) == [[]]
    assert sample_rows(model, [], seeds=[], pad_id=0, stop_ids=set(), max_new_tokens=3) == []
    with pytest.raises(ValueError, match="seeds"):
        sample_rows(model, rows, seeds=[], pad_id=0, stop_ids=set(), max_new_tokens=3)
