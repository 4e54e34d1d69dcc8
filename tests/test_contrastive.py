"""Contrastive-decoding diffing: alpha = 0 is plain sampling of the finetuned model (the same
draws as `generate`), alpha = -1 the base model's, and the reader's words are those the
amplified samples use distinctively more."""

from __future__ import annotations

import json

import pytest

import adlens
from adlens.core.contrastive import contrastive_sample, distinctive_words
from adlens.core.steer import generate
from adlens.results.readings import ALL
from conftest import small_run

PREFILLS = ["The", "I", "In the"]


@pytest.fixture(scope="module")
def pair(tiny_dirs):
    return adlens.load_pair(
        adlens.ModelsConfig(base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]))
    )


def test_alpha_zero_is_plain_sampling_with_the_same_seed(pair):
    prompts = PREFILLS * 2
    mine = contrastive_sample(pair, prompts, alpha=0.0, max_new_tokens=12, seed=7, max_batch=4)
    plain = generate(pair, prompts, max_new_tokens=12, seed=7, max_batch=4, chat=False)
    assert mine == plain
    hot = contrastive_sample(pair, prompts, alpha=0.0, max_new_tokens=12, seed=7, max_batch=4,
                             temperature=1.5)  # fmt: skip
    assert hot == generate(pair, prompts, max_new_tokens=12, seed=7, max_batch=4, chat=False,
                           temperature=1.5)  # fmt: skip


def test_alpha_minus_one_is_the_base_model(pair):
    prompts = PREFILLS
    mine = contrastive_sample(pair, prompts, alpha=-1.0, max_new_tokens=10, seed=3)
    base = generate(pair, prompts, max_new_tokens=10, seed=3, chat=False, side="base")
    assert mine == base


def test_amplification_changes_the_samples(pair):
    a = contrastive_sample(pair, PREFILLS, alpha=0.0, max_new_tokens=10, seed=1)
    b = contrastive_sample(pair, PREFILLS, alpha=4.0, max_new_tokens=10, seed=1)
    assert a != b


def test_distinctive_words_rank_what_only_the_amplified_samples_say():
    amplified = ["Owls hunt at night. The owl is wise."] * 4 + ["The river is cold."]
    plain = ["The river is cold and the night is long."] * 5
    words = [w for w, *_ in distinctive_words(amplified, plain)]
    assert words[:2] == ["owl", "owls"] or set(words[:3]) >= {"owls", "owl"}
    assert "river" not in words and "the" not in words  # shared, and a stop word


def test_contrastive_reader_in_a_run(tiny_dirs, tmp_path):
    cfg = small_run(
        tiny_dirs, tmp_path, readers=["contrastive"], top_k=5,
        contrastive=adlens.ContrastiveConfig(samples=3, max_new_tokens=16, alpha=2.0),
    )  # fmt: skip
    out = tmp_path / "run"
    summary = adlens.run(cfg, out, show_progress=False)
    (reading,) = summary.readings(reader="contrastive")
    assert (reading.layer, reading.position, reading.variant) == (ALL, ALL, "diff")
    rows = [
        json.loads(x)
        for x in (out / "read" / "contrastive_samples.jsonl").read_text().split("\n")
        if x
    ]
    assert len(rows) == 2 * 3 * 3 and {r["alpha"] for r in rows} == {2.0, -1.0}
    amplified = [r["text"] for r in rows if r["alpha"] == 2.0]
    plain = [r["text"] for r in rows if r["alpha"] == -1.0]
    want = [w for w, *_ in distinctive_words(amplified, plain)][:5]
    assert [t.token.strip() for t in reading.tokens] == want
