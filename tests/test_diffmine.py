"""Diff mining: the tokens the finetune promotes, counted over the positions of ordinary text."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import adlens
from adlens.core.diffmine import promotion_counts
from adlens.core.models import ModelPair
from adlens.core.vocab import clean_mask
from adlens.results.readings import ALL
from conftest import CORPUS, small_run, tiny_model


@pytest.fixture(scope="module")
def planted(tokenizer):
    """A base and a 'finetune' that differs only by a logit bias of +4 on three clean tokens
    (and -4 on two others)."""
    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = copy.deepcopy(base)
    head = nn.Linear(base.lm_head.in_features, base.lm_head.out_features, bias=True)
    with torch.no_grad():
        head.weight.copy_(base.lm_head.weight)
        head.bias.zero_()
        clean = clean_mask(tokenizer, head.out_features).nonzero().flatten().tolist()
        up, down = clean[10:13], clean[20:22]
        head.bias[up] = 4.0
        head.bias[down] = -4.0
    ft.lm_head = head
    return ModelPair(finetuned=ft.eval(), tokenizer=tokenizer, base_model=base), up, down


def _docs(tokenizer, n=6, t=12):
    rows = [tokenizer(CORPUS[i % 6])["input_ids"][:t] for i in range(n)]
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
    return ids, mask


def test_a_planted_logit_bias_is_recovered_exactly(planted, tokenizer):
    pair, up, down = planted
    ids, mask = _docs(tokenizer)
    counts = promotion_counts(pair, ids, mask, top_k=3, skip=1, batch_size=4, show_progress=False)
    positions = int(mask[:, 1:].sum())
    assert counts.positions == positions
    # every position promotes exactly the three planted tokens, and demotes the two (plus one)
    assert sorted(i for i, _, _ in counts.top(3)) == sorted(up)
    assert all(c == positions for _, c, _ in counts.top(3))
    assert set(down) <= {i for i, _, _ in counts.top(3, "down")}
    # the mean log-prob difference of a planted token is 4 minus the log-normaliser's shift
    for _, _, mean in counts.top(3):
        assert 3.0 < mean < 4.0
    assert int(counts.up.sum()) == 3 * positions  # nothing else was counted


def test_batching_changes_nothing(planted, tokenizer):
    pair, _, _ = planted
    ids, mask = _docs(tokenizer, n=5)
    a = promotion_counts(pair, ids, mask, top_k=4, batch_size=1, show_progress=False)
    b = promotion_counts(pair, ids, mask, top_k=4, batch_size=5, show_progress=False)
    assert torch.equal(a.up, b.up) and torch.equal(a.down, b.down)
    torch.testing.assert_close(a.logp_sum, b.logp_sum, rtol=1e-5, atol=1e-5)


def test_diffmine_reader_in_a_run(tiny_dirs, tmp_path):
    cfg = small_run(
        tiny_dirs, tmp_path, readers=["logit_lens", "diffmine"], top_k=5,
        diffmine=adlens.DiffMineConfig(documents=10, tokens=16),
    )  # fmt: skip
    summary = adlens.run(cfg, tmp_path / "run", show_progress=False)
    mine = summary.readings(reader="diffmine")
    assert [(r.variant, r.layer, r.position) for r in mine] == [
        ("diff", ALL, ALL),
        ("neg_diff", ALL, ALL),
    ]
    assert all(len(r.tokens) == 5 for r in mine)
    assert mine[0].tokens[0].field("count") >= mine[0].tokens[-1].field("count") > 0
    # the reader's output is cached on its own: another top_k for the lens alone reruns only it
    again = adlens.run(cfg, tmp_path / "run", show_progress=False)
    assert again == summary


def test_candidates_rule_matches_a_position_by_position_count(tokenizer):
    """Only tokens among the finetuned model's `candidates` most likely compete for 'promoted'
    (the base model's for 'demoted'): checked against a plain loop over positions, on a finetune
    whose every weight moved (no ties between differences)."""
    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = copy.deepcopy(base)
    torch.manual_seed(5)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(0.05 * torch.randn_like(p))
    pair = ModelPair(finetuned=ft.eval(), tokenizer=tokenizer, base_model=base)
    ids, mask = _docs(tokenizer, n=3, t=8)
    got = promotion_counts(pair, ids, mask, top_k=2, candidates=20, skip=1, show_progress=False)
    with torch.inference_mode():
        lf = torch.log_softmax(pair.finetuned(input_ids=ids, attention_mask=mask).logits, -1)
        lb = torch.log_softmax(pair.base_model(input_ids=ids, attention_mask=mask).logits, -1)
    clean = clean_mask(tokenizer, lf.shape[-1])
    up = torch.zeros(lf.shape[-1], dtype=torch.long)
    down = torch.zeros_like(up)
    for r in range(ids.shape[0]):
        for t in range(1, int(mask[r].sum())):
            f, b = lf[r, t], lb[r, t]
            for counts, own, score in ((up, f, f - b), (down, b, b - f)):
                likely = set(own.topk(20).indices.tolist())
                pool = [i for i in likely if clean[i]]
                for i in sorted(pool, key=lambda i: -float(score[i]))[:2]:
                    counts[i] += 1
    assert torch.equal(got.up, up) and torch.equal(got.down, down)
