"""Logit lens and Patchscope: shapes of the summary, the replacement, the grid, the intersection."""

from __future__ import annotations

import copy

import pytest
import torch

from adlens.core.collect import collect
from adlens.core.lens import VARIANTS, head_logits, logit_lens, top_tokens
from adlens.core.models import ModelPair
from adlens.core.patchscope import (
    ContentStability,
    content_words,
    default_scales,
    identity_prompt,
    intersect_and_average,
    patched_probs,
    patchscope,
)
from adlens.core.tokenization import tokenize_documents, tokenize_for_norms
from conftest import CORPUS, tiny_model


@pytest.fixture(scope="module")
def pair_and_diff(tokenizer):
    base = tiny_model("llama", len(tokenizer), seed=0)
    ft = copy.deepcopy(base)
    with torch.no_grad():
        for p in ft.parameters():
            p.add_(0.05 * torch.randn_like(p))
    pair = ModelPair(finetuned=ft, base_model=base, tokenizer=tokenizer)
    texts = CORPUS * 4
    docs = tokenize_documents(tokenizer, texts, positions=3, n_docs=24)
    norms = tokenize_for_norms(tokenizer, texts, n_docs=8, max_tokens=16, skip=5)
    return pair, collect(pair, docs, [1, 2], norm_inputs=norms, show_progress=False)


def test_scale_grid():
    s = default_scales()
    assert s[:3] == [0.5, 0.6, 0.7] and 2.0 in s and 2.1 not in s
    assert [3.0, 4.0, 5.0, 10.0] == [x for x in s if 2 < x < 20]
    assert [x for x in s if x >= 20] == [float(v) for v in range(20, 201, 20)]
    assert len(s) == 30


def test_identity_prompt():
    assert identity_prompt(["a", "b", "c"]) == "a -> a\nb -> b\nc -> c\n?"


def test_logit_lens_entries(pair_and_diff):
    pair, diff = pair_and_diff
    entries = logit_lens(pair, diff, top_k=7, heads=("finetuned", "base"))
    # the finetuned-head pass reads every variant; the base-head pass has no drift control
    assert len(entries) == 2 * 3 * (len(VARIANTS) + len(VARIANTS) - 1)
    e = entries[0]
    assert set(e.to_json()) == {"reader", "head", "model", "layer", "position", "variant", "tokens"}
    assert len(e.tokens) == 7 and set(e.tokens[0].model_dump()) == {"token", "id", "prob"}
    probs = [t.prob for t in e.tokens]
    assert probs == sorted(probs, reverse=True)
    # the negated difference reads differently from the difference
    by = {(x.head, x.layer, x.position, x.variant): x for x in entries}
    assert by[("finetuned", 1, 0, "diff")].tokens != by[("finetuned", 1, 0, "neg_diff")].tokens


def test_baselines_are_read_in_their_own_model(pair_and_diff):
    """The reference: the base mean through the base model (head, and Patchscope with the base
    model's expected norm); the difference, the finetuned mean and the drift control (the base
    mean again) through the finetuned model."""
    pair, diff = pair_and_diff
    layer, pos, k = 1, 1, 7
    lens = {
        e.variant: e
        for e in logit_lens(pair, diff, top_k=k)
        if (e.layer, e.position) == (layer, pos)
    }
    base_vec = diff.vector(layer, pos, "base_mean")
    for variant, model in (("base_mean", "base"), ("base_mean_in_ft", "finetuned")):
        want = head_logits(pair, base_vec[None], model).softmax(-1)
        ids = [t["id"] for t in top_tokens(pair.tokenizer, want, k)[0]]
        assert lens[variant].model == model and [t.id for t in lens[variant].tokens] == ids
    assert lens["diff"].model == lens["ft_mean"].model == "finetuned"
    # the two heads really differ here, so the test can tell them apart
    assert not torch.allclose(
        head_logits(pair, base_vec[None], "base"), head_logits(pair, base_vec[None], "finetuned")
    )

    scales = [0.5, 2.0]
    _, all_scales = patchscope(pair, diff, scales=scales, top_k=k, keep_top=50)
    li = diff.layers.index(layer)
    unit = base_vec / base_vec.norm()
    for variant, model in (("base_mean", "base"), ("base_mean_in_ft", "finetuned")):
        n = float(diff.expected_norm[model][li])
        vecs = torch.stack([s * n * unit for s in scales])
        probs = intersect_and_average(patched_probs(pair, layer, vecs, side=model), 50)
        want = top_tokens(pair.tokenizer, probs, k)
        got = [
            r
            for r in all_scales
            if (r["layer"], r["position"], r["variant"]) == (layer, pos, variant)
        ]
        assert [[t["id"] for t in r["tokens"]] for r in got] == [[t["id"] for t in w] for w in want]
        assert all(r["model"] == model for r in got)
    n_b, n_f = (float(diff.expected_norm[m][li]) for m in ("base", "finetuned"))
    assert n_b != pytest.approx(n_f, rel=1e-4)  # the base mean is scaled by the base norm


def test_patched_probs_match_an_uncached_forward(pair_and_diff, tokenizer):
    """The KV-cache shortcut equals a plain full-prompt forward with the replacement hook."""
    from adlens.core.hooks import replace_last_token

    pair, _ = pair_and_diff
    vecs = torch.randn(3, pair.d_model) * 5
    triples = [("a", "b", "c")]
    got = patched_probs(pair, 1, vecs, triples=triples, chunk=2)[0]
    ids = tokenizer(identity_prompt(triples[0]), return_tensors="pt")["input_ids"].repeat(3, 1)
    with torch.no_grad(), replace_last_token(pair.finetuned, 1, vecs):
        ref = pair.finetuned(input_ids=ids).logits[:, -1].softmax(-1)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)


def test_skipping_the_early_blocks_is_checked_and_falls_back(pair_and_diff, tokenizer, monkeypatch):
    """The last token's blocks up to the patched layer are skipped where that reads the same
    (checked once per layer); where it would not, every block runs and the reading is right."""
    import contextlib

    import adlens.core.patchscope as ps
    from adlens.core.hooks import replace_last_token

    pair, _ = pair_and_diff
    vecs = torch.randn(4, pair.d_model) * 5
    triples = [("a", "b", "c")]
    ids = tokenizer(identity_prompt(triples[0]), return_tensors="pt")["input_ids"].repeat(4, 1)
    with torch.no_grad(), replace_last_token(pair.finetuned, 1, vecs):
        ref = pair.finetuned(input_ids=ids).logits[:, -1].softmax(-1)
    with torch.inference_mode(), pair.use("finetuned") as model:
        prefixes = ps._Prefixes(model, pair, triples)
        fast = next(prefixes.probs(model, 1, vecs))
    assert prefixes.skip_ok == {1: True}
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-6)

    real = ps.start_after

    @contextlib.contextmanager
    def broken(model, layer, vectors):  # as if the blocks returned more than a tensor
        with real(model, layer, 0 * vectors):
            yield

    monkeypatch.setattr(ps, "start_after", broken)
    with torch.inference_mode(), pair.use("finetuned") as model:
        prefixes = ps._Prefixes(model, pair, triples)
        slow = next(prefixes.probs(model, 1, vecs))
    assert prefixes.skip_ok == {1: False}
    torch.testing.assert_close(slow, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "family", ["llama", "qwen2", "qwen3", "mistral", "gemma2", "gemma3", "gpt2"]
)
def test_skipping_reads_the_same_in_every_family(family, tokenizer):
    import adlens.core.patchscope as ps
    from adlens.core.hooks import replace_last_token
    from conftest import tiny_model

    model = tiny_model(family, len(tokenizer), seed=1, n_layers=4)
    pair = ModelPair(finetuned=model, base_model=model, tokenizer=tokenizer)
    vecs = torch.randn(3, pair.d_model) * 3
    triples = [("sun", "moon", "star")]
    ids = tokenizer(identity_prompt(triples[0]), return_tensors="pt")["input_ids"].repeat(3, 1)
    with torch.inference_mode():
        with replace_last_token(model, 2, vecs):
            ref = model(input_ids=ids).logits[:, -1].float().softmax(-1)
        prefixes = ps._Prefixes(model, pair, triples)
        got = next(prefixes.probs(model, 2, vecs))
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)
    assert prefixes.skip_ok == {2: True}  # the shortcut applies to each family


def test_intersection_rule():
    probs = torch.tensor(
        [
            [[0.5, 0.3, 0.15, 0.05]],
            [[0.1, 0.6, 0.25, 0.05]],
            [[0.3, 0.3, 0.05, 0.35]],
        ]
    )
    out = intersect_and_average(probs, keep_top=2)
    # token 0: top-2 in prompts 0 and 2, not 1 -> dropped; token 1: top-2 everywhere -> kept.
    expected = torch.tensor([[0.0, 0.4, 0.0, 0.0]])
    torch.testing.assert_close(out, expected)


def test_patchscope_entries_and_all_scales(pair_and_diff):
    pair, diff = pair_and_diff
    scales = [0.5, 1.0, 5.0, 40.0]
    entries, all_scales = patchscope(pair, diff, scales=scales, top_k=5, keep_top=50)
    assert len(entries) == 2 * 3 * len(VARIANTS)
    assert len(all_scales) == len(entries) * len(scales)
    assert all(len(s["raw_tokens"]) == 5 for s in all_scales)
    for e in entries:
        assert e.reader == "patchscope" and e.scale in scales and len(e.tokens) <= 5
        mine = [
            s
            for s in all_scales
            if (s["layer"], s["position"], s["variant"]) == (e.layer, e.position, e.variant)
        ]
        assert max(s["score"] for s in mine) == pytest.approx(e.scale_score)


def test_patchscope_batches_across_positions_and_equals_one_vector_at_a_time(
    pair_and_diff, monkeypatch
):
    """Every position's and variant's vectors go through in shared batches (here 7 rows, so
    batches straddle positions, variants and the two models); each list still equals the one
    vector's own patched distribution, averaged over prompts with the intersection rule."""
    import adlens.core.patchscope as ps

    pair, diff = pair_and_diff
    scales = [0.5, 2.0, 20.0]
    monkeypatch.setattr(ps, "PATCH_BATCH", 7)
    _, small = patchscope(pair, diff, scales=scales, top_k=6, keep_top=40)
    monkeypatch.setattr(ps, "PATCH_BATCH", 256)
    _, large = patchscope(pair, diff, scales=scales, top_k=6, keep_top=40)
    ids = lambda rows: [[t["id"] for t in r["raw_tokens"]] for r in rows]  # noqa: E731
    assert ids(small) == ids(large)
    layer = 1
    li = diff.layers.index(layer)
    for row in small:
        if row["layer"] != layer:
            continue
        vec = diff.vector(layer, row["position"], row["variant"])
        norm = float(diff.expected_norm[row["model"]][li])
        one = (vec / vec.norm() * row["scale"] * norm)[None]
        probs = intersect_and_average(patched_probs(pair, layer, one, side=row["model"]), 40)
        want = top_tokens(pair.tokenizer, probs, 6, clean=False)[0]
        assert [t["id"] for t in row["raw_tokens"]] == [t["id"] for t in want], row["variant"]


def test_a_non_finite_patch_names_its_vector(pair_and_diff):
    from dataclasses import replace

    from adlens.core.numerics import NonFiniteError

    pair, diff = pair_and_diff
    bad = diff.mean_diff.clone()
    bad[diff.layers.index(2), 1] = float("nan")  # layer 2, position 1
    broken = replace(diff, mean_diff=bad)
    with pytest.raises(NonFiniteError, match=r"diff at layer 2, position 1, scale 0.5"):
        patchscope(pair, broken, scales=[0.5, 1.0], top_k=3, keep_top=20)


def test_patchscope_skips_the_last_layer_where_it_is_the_logit_lens(pair_and_diff):
    """Patched into the last block's output, the vector reads the same from every prompt and
    at every scale: exactly its logit lens. The read stage leaves that layer to the lens."""
    pair, diff = pair_and_diff
    last = pair.n_layers - 1
    vec = diff.vector(1, 1, "diff")
    unit = vec / vec.norm()
    probs = patched_probs(pair, last, torch.stack([0.5 * unit, 7.0 * unit]))
    lens = head_logits(pair, unit[None], "finetuned").softmax(-1)
    for p in range(probs.shape[0]):
        for row in probs[p]:
            torch.testing.assert_close(row, lens[0], rtol=1e-3, atol=1e-6)
    from dataclasses import replace

    at_last = replace(diff, layers=[1, last], expected_norm=diff.expected_norm)
    entries, _ = patchscope(pair, at_last, scales=[1.0], top_k=3, keep_top=50)
    assert {e.layer for e in entries} == {1}


class _WordTokenizer:
    """Just enough tokenizer for the scale chooser: ids index a word list."""

    def __init__(self, words):
        self.words = words

    def convert_ids_to_tokens(self, ids):
        return [self.words[i].replace(" ", "Ġ") for i in ids]


def test_content_stability_prefers_stable_content_words():
    words = [
        " honey",
        " hives",
        " bees",
        " nectar",
        ".",
        "\n",
        " the",
        "al",
        " reluctantly",
        " asleep",
        " I",
    ]
    chooser = ContentStability(_WordTokenizer(words))

    def lst(ids):
        return [{"id": i, "prob": 0.1, "token": words[i]} for i in ids]

    lists = [
        lst([4, 5, 0, 6]),  # small scale: the prompt's punctuation, one content word
        lst([0, 1, 2, 5]),  # the concept...
        lst([0, 1, 2, 3]),  # ...persisting over neighbouring scales
        lst([0, 1, 2, 3]),
        lst([8, 9, 4, 5]),  # content words at one accidental scale
        lst([10, 4, 6, 7]),  # far off distribution: function words and fragments
    ]
    best, scores = chooser.choose(lists)
    assert best in (2, 3)
    assert scores[5] == 0.0 and scores[4] < scores[1]
    assert content_words(chooser.tokenizer, lists[5]) == set()
    # the identity prompts' own words are never evidence
    assert content_words(None, [{"id": 1, "token": " London"}, {"id": 2, "token": " honey"}]) == {2}


def test_pooled_list_votes_over_the_scales():
    """The pooled list holds the content words most scales agree on, without the baseline's
    words, with their best probability; it is filled from the chosen scale when short."""
    words = [" honey", " hives", " bees", " river", " tattoo", " the", "ing"]
    chooser = ContentStability(_WordTokenizer(words), window=1)

    def lst(ids, p=0.1):
        return [{"id": i, "prob": p, "token": words[i]} for i in ids]

    lists = [lst([3, 0, 5]), lst([0, 1, 3], 0.3), lst([1, 0, 4, 6]), lst([2, 6])]
    controls = [lst([3])] * 4  # " river" is the baseline's
    best, _ = chooser.choose(lists, controls)
    pooled = chooser.pool(lists, controls, best, top_k=5)
    ids = [t["id"] for t in pooled]
    assert ids[:2] == [0, 1] and 3 not in ids[:4] and set(ids[:4]) == {0, 1, 2, 4}
    assert pooled[0]["prob"] == 0.3 and pooled[0]["votes"] > pooled[1]["votes"]
    assert len(pooled) == 5 and "votes" not in pooled[4]  # filled from the chosen scale


def test_scale_choice_ignores_what_the_baseline_shows():
    """A word the prompt makes at every scale (in the baseline's lists too) is no evidence: the chooser picks the band where the planted concept persists, not the scales
    where the prompt's word ranks highest."""
    words = [" honey", " hives", " bees", " nectar", " river", " morning", " reluctantly", " I"]
    chooser = ContentStability(_WordTokenizer(words), window=2)

    def lst(ids):
        return [{"id": i, "prob": 0.1, "token": words[i]} for i in ids]

    lists = [
        lst([4, 5, 7]),  # the prompt's words, at the top of every list
        lst([4, 5, 6, 7]),
        lst([4, 5, 7]),
        lst([4, 5, 0, 1]),  # the concept, lower down, over a band of scales
        lst([4, 5, 0, 1, 2]),
        lst([4, 5, 0, 1, 2, 3]),
        lst([7]),
    ]
    controls = [lst([4, 5, 7])] * len(lists)  # the base mean's lists: the prompt's words
    best, scores = chooser.choose(lists, controls)
    assert best in (4, 5) and max(scores[:3]) < min(scores[3:6])
    # without the controls the prompt's persisting words carry the small scales
    _, plain = chooser.choose(lists)
    assert plain[1] > scores[1] and plain[2] > plain[6]
