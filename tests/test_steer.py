"""Steering: the hook against output_hidden_states, batched generation, the strength search with
scripted judges, and the pipeline's steer stage on tiny random models."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from adlens.core.strength import (
    FAIL,
    OPEN,
    PASS,
    GradedCache,
    Request,
    SearchSettings,
    decide,
    search_strength,
)
from conftest import build_tokenizer, tiny_model

# --------------------------------------------------------------------------------------------
# The strength search, with a scripted sampler and judge (no model)
# --------------------------------------------------------------------------------------------


class ScriptedSampler:
    """Texts that name their prompt and strength; records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def __call__(self, requests):
        self.requests += requests
        return [
            [f"{r.prompt_index}|{r.strength!r}|{r.start + i}" for i in range(r.n)] for r in requests
        ]

    def generated(self) -> int:
        return sum(r.n for r in self.requests)

    def strengths(self, prompt_index: int) -> list[float]:
        return [r.strength for r in self.requests if r.prompt_index == prompt_index]


class ThresholdJudge:
    """Coherent iff strength <= T[prompt]; `unknown(text)` True makes a verdict UNKNOWN."""

    name = "scripted"

    def __init__(self, thresholds, unknown=None):
        self.t = thresholds
        self.unknown = unknown or (lambda p, s, i: False)
        self.calls = 0

    def judge_coherence(self, prompts, completions):
        self.calls += 1
        out = []
        for text in completions:
            p, s, i = text.split("|")
            p, s, i = int(p), float(s), int(i)
            out.append(None if self.unknown(p, s, i) else s <= self.t[p])
        return out


PROMPTS = ["a", "b", "c"]


def test_decide_counts_known_verdicts_only():
    assert decide([True] * 8 + [False] * 2, 10) == PASS
    assert decide([True] * 7 + [False] * 3, 10) == FAIL
    assert decide([True] * 6 + [None] * 2 + [False] * 2, 10) == PASS  # 6 of 8 known = 0.75
    assert decide([True] * 5 + [None] * 2 + [False] * 3, 10) == FAIL  # 5 of 8
    assert decide([True] * 4 + [None] * 6, 10) == FAIL  # fewer than half known: unknown
    assert decide([True] * 5 + [None] * 5, 10) == PASS  # exactly half known, all coherent
    assert decide([True] * 5, 10) == OPEN
    assert decide([True, False, False], 10) == OPEN  # 8 of 10 still possible
    assert decide([True, False, False, False], 10) == FAIL  # 3 incoherent: cannot pass


def test_threshold_found_within_one_step(tmp_path):
    settings = SearchSettings()
    sampler, judge = ScriptedSampler(), ThresholdJudge([3.3, 2.9, 4.1])
    result = search_strength(sampler, judge, PROMPTS, settings)
    step1 = 100 / 2**12
    assert 3.3 - step1 <= result.thresholds[0] <= 3.3
    step = 2 * result.thresholds[0] / 2**6
    assert 2.9 - step <= result.thresholds[1] <= 2.9
    assert 4.1 - step <= result.thresholds[2] <= 4.1
    assert result.final == pytest.approx(sum(result.thresholds) / 3)
    assert not result.warnings
    # Never the same (prompt, strength) sampled twice beyond its 10 samples.
    per = {}
    for r in sampler.requests:
        per[(r.prompt_index, r.strength)] = per.get((r.prompt_index, r.strength), 0) + r.n
    assert max(per.values()) == 10
    assert result.generations == sampler.generated() < 560
    assert result.rounds == judge.calls
    # Prompts 2 and 3 share their sampler calls: 4 rounds x 2 installments + 2 x 2.
    assert result.rounds <= 12
    # Every graded point is reported, and the result saves as json.
    assert len(result.points) == len(per)
    result.save(tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["final"] == result.final


def test_same_walk_as_one_shot_sampling():
    """Installments and levels per round change the cost, never the thresholds."""
    judge = ThresholdJudge([7.7, 5.0, 9.9])
    ref = search_strength(
        ScriptedSampler(), judge, PROMPTS, SearchSettings(installments=1, levels_per_round=3)
    )
    assert ref.generations == 560  # the reference's count
    for levels, parts in ((1, 1), (2, 3), (3, 2), (4, 5)):
        s = SearchSettings(installments=parts, levels_per_round=levels)
        other = search_strength(ScriptedSampler(), judge, PROMPTS, s)
        assert other.thresholds == ref.thresholds
        assert other.generations <= ref.generations


def test_first_threshold_zero_is_recorded_not_raised():
    sampler = ScriptedSampler()
    result = search_strength(sampler, ThresholdJudge([0.0, 1.0, 1.0]), PROMPTS)
    assert result.thresholds == [0.0, 0.0, 0.0] and result.final == 0.0
    assert any("threshold 0" in w for w in result.warnings)
    assert sampler.strengths(1) == [] and sampler.strengths(2) == []


def test_first_prompt_only_when_no_other_steps():
    sampler = ScriptedSampler()
    result = search_strength(
        sampler, ThresholdJudge([3.3, 1.0, 1.0]), PROMPTS, SearchSettings(other_steps=0)
    )
    assert len(result.thresholds) == 1 and result.final == result.thresholds[0]
    assert sampler.strengths(1) == []


def test_all_coherent_hits_upper_bound():
    result = search_strength(ScriptedSampler(), ThresholdJudge([1e9] * 3), PROMPTS)
    assert result.thresholds[0] == pytest.approx(100 * (1 - 2**-12))
    assert any("upper bound" in w for w in result.warnings)


def test_unknown_verdicts_are_excluded():
    # 3 of every 10 samples UNKNOWN: the remaining 7 decide, and the threshold is unchanged.
    judge = ThresholdJudge([3.3, 3.3, 3.3], unknown=lambda p, s, i: i % 10 < 3)
    result = search_strength(ScriptedSampler(), judge, PROMPTS)
    assert 3.3 - 100 / 2**12 <= result.thresholds[0] <= 3.3
    assert not result.warnings
    point = result.points[0]
    assert point["n_known"] < point["n_samples"]


def test_mostly_unknown_takes_the_conservative_branch():
    # Above 2.0 the judge cannot answer: those strengths are unknown -> lower branch, warned.
    judge = ThresholdJudge([50.0] * 3, unknown=lambda p, s, i: s > 2.0)
    result = search_strength(ScriptedSampler(), judge, PROMPTS)
    assert result.thresholds[0] <= 2.0
    assert any("fewer than 50%" in w for w in result.warnings)
    assert any(p["status"] == "unknown" for p in result.points)


def test_cache_reuse_and_resume():
    """A search replayed from its cache generates nothing; a cache cut mid-way resumes."""
    judge = ThresholdJudge([3.3, 2.9, 4.1])
    saved = []
    first = search_strength(
        ScriptedSampler(), judge, PROMPTS, on_graded=lambda c: saved.append(c.rows())
    )
    replay = ScriptedSampler()
    again = search_strength(replay, judge, PROMPTS, cache=GradedCache.from_rows(saved[-1]))
    assert replay.generated() == 0 and again.thresholds == first.thresholds
    resumed = ScriptedSampler()
    half = search_strength(resumed, judge, PROMPTS, cache=GradedCache.from_rows(saved[4]))
    assert half.thresholds == first.thresholds
    assert resumed.generated() == first.generations - len(saved[4])
    seen = {(r.prompt_index, r.strength, r.start) for r in resumed.requests}
    assert not seen & {(r["prompt_index"], r["strength"], 0) for r in saved[4]}


def test_unsteered_points_in_cache_are_curve_points():
    cache = GradedCache()
    for p in range(3):
        cache.add(p, 0.0, [f"{p}|0.0|{i}" for i in range(10)], [True] * 10)
    sampler = ScriptedSampler()
    result = search_strength(sampler, ThresholdJudge([3.0] * 3), PROMPTS, cache=cache)
    assert 0.0 not in sampler.strengths(0)
    assert {(p["prompt_index"], p["strength"]) for p in result.points} >= {(0, 0.0), (1, 0.0)}


# --------------------------------------------------------------------------------------------
# The hook
# --------------------------------------------------------------------------------------------

LAYER = 1


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    return tiny_model("llama", len(tok), seed=3).requires_grad_(False)


def _block_outputs(model, layer, **inputs):
    """What block `layer + 1` receives (block `layer`'s output after every hook on it)."""
    from adlens.core.anatomy import find_decoder_layers

    seen = {}
    nxt = find_decoder_layers(model)[layer + 1]
    handle = nxt.register_forward_pre_hook(lambda _m, args: seen.setdefault("h", args[0]))
    try:
        out = model(**inputs, output_hidden_states=True)
    finally:
        handle.remove()
    return seen["h"], out


def test_hook_adds_vector_at_every_prompt_position(model, tok):
    from adlens.core.steer import steering

    ids = torch.tensor([tok("The quick brown fox jumps")["input_ids"]] * 2)
    plain = model(input_ids=ids, output_hidden_states=True).hidden_states
    v = torch.randn(model.config.hidden_size)
    strengths = torch.tensor([0.5, -2.0])
    state = {k: t.clone() for k, t in model.state_dict().items()}
    with steering(model, LAYER, v, strengths):
        h, out = _block_outputs(model, LAYER, input_ids=ids)
    expected = plain[LAYER + 1] + strengths[:, None, None] * v
    torch.testing.assert_close(h, expected, rtol=1e-5, atol=1e-5)
    for i in range(LAYER + 1):  # earlier blocks untouched
        torch.testing.assert_close(out.hidden_states[i], plain[i])
    assert not torch.allclose(out.hidden_states[LAYER + 2], plain[LAYER + 2])
    # per-row vectors [batch, d] work too, and nothing in the model changed
    vs = torch.randn(2, model.config.hidden_size)
    with steering(model, LAYER, vs):
        h2, _ = _block_outputs(model, LAYER, input_ids=ids)
    torch.testing.assert_close(h2, plain[LAYER + 1] + vs[:, None, :], rtol=1e-5, atol=1e-5)
    assert all(torch.equal(t, model.state_dict()[k]) for k, t in state.items())


def test_hook_applies_to_each_cached_decode_step(model, tok):
    from adlens.core.steer import steering

    ids = torch.tensor([tok("Honey bees collect nectar")["input_ids"]])
    cache = model(input_ids=ids[:, :-1], use_cache=True).past_key_values
    last = ids[:, -1:]
    plain = model(
        input_ids=last, past_key_values=copy.deepcopy(cache), output_hidden_states=True
    ).hidden_states
    v = torch.randn(model.config.hidden_size)
    with steering(model, LAYER, v, torch.tensor([3.0])):
        h, _ = _block_outputs(model, LAYER, input_ids=last, past_key_values=copy.deepcopy(cache))
    assert h.shape[1] == 1
    torch.testing.assert_close(h, plain[LAYER + 1] + 3.0 * v, rtol=1e-5, atol=1e-5)


def test_hook_removed_after_exception(model, tok):
    from adlens.core.anatomy import find_decoder_layers
    from adlens.core.steer import steering

    ids = torch.tensor([tok("A table in London")["input_ids"]])
    before = model(input_ids=ids).logits
    hooks = [dict(b._forward_hooks) for b in find_decoder_layers(model)]
    with pytest.raises(RuntimeError, match="boom"), steering(model, LAYER, torch.ones(64)):
        assert len(find_decoder_layers(model)[LAYER]._forward_hooks) == len(hooks[LAYER]) + 1
        raise RuntimeError("boom")
    assert [dict(b._forward_hooks) for b in find_decoder_layers(model)] == hooks
    torch.testing.assert_close(model(input_ids=ids).logits, before)


def test_left_padding_matches_single_runs(model, tok):
    from adlens.core.sampling import left_pad
    from adlens.core.steer import encode_prompts, pad_token_id, steering

    prompts = ["Hi", "Seven horses run across the field while music plays"]
    rows = encode_prompts(tok, prompts)
    assert len(rows[0]) < len(rows[1])
    ids, mask = left_pad(rows, pad_token_id(tok))
    assert ids[0, 0] == tok.pad_token_id and mask[0, 0] == 0
    v = torch.randn(model.config.hidden_size)
    strengths = torch.tensor([1.5, 0.5])
    gen = dict(max_new_tokens=1, do_sample=False, output_logits=True, return_dict_in_generate=True)
    with steering(model, LAYER, v, strengths):
        batched = model.generate(input_ids=ids, attention_mask=mask, pad_token_id=0, **gen)
    for i, row in enumerate(rows):
        with steering(model, LAYER, v, strengths[i : i + 1]):
            single = model.generate(input_ids=torch.tensor([row]), pad_token_id=0, **gen)
        torch.testing.assert_close(batched.logits[0][i], single.logits[0][0], rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(tok):
    from adlens.core.models import ModelPair

    base = tiny_model("llama", len(tok), seed=3).requires_grad_(False)
    ft = tiny_model("llama", len(tok), seed=4).requires_grad_(False)
    return ModelPair(finetuned=ft, tokenizer=tok, base_model=base)


def test_chat_template_and_plain_fallback(tok):
    from adlens.core.steer import encode_prompts, format_prompt

    text, templated = format_prompt(tok, "Hello there")
    assert templated and text.endswith("<|im_start|>assistant\n")
    plain = copy.deepcopy(tok)
    plain.chat_template = None
    text, templated = format_prompt(plain, "Hello there")
    assert (text, templated) == ("Hello there", False)
    assert encode_prompts(plain, ["Hello there"])[0][0] == tok.bos_token_id  # plain adds BOS
    thinking = copy.deepcopy(tok)
    thinking.chat_template = tok.chat_template + (
        "{% if enable_thinking is defined and not enable_thinking %}<think></think>{% endif %}"
    )
    assert format_prompt(thinking, "Hi")[0].endswith("<think></think>")


def test_generate_batched_steered_reproducible(pair, tok):
    from adlens.core.steer import generate

    prompts = ["Hello there", "Tell me a story about the river", "Hi"]
    v = torch.randn(pair.d_model)
    kw = dict(layer=LAYER, vector=v, strengths=[0.0, 1.0, 4.0], max_new_tokens=6, max_batch=2)
    rng = torch.get_rng_state()
    a = generate(pair, prompts, seed=1, **kw)
    assert torch.equal(rng, torch.get_rng_state())  # the global random state is untouched
    assert len(a) == 3 and all(isinstance(t, str) for t in a)
    assert generate(pair, prompts, seed=1, **kw) == a
    assert tok.padding_side == "right"
    plain = copy.deepcopy(tok)
    plain.chat_template = None
    pair_plain = copy.copy(pair)
    pair_plain.tokenizer = plain
    assert len(generate(pair_plain, prompts, max_new_tokens=3, side="base")) == 3


# --------------------------------------------------------------------------------------------
# The steer stage and the pipeline
# --------------------------------------------------------------------------------------------

SMALL = dict(
    positions="best",
    first_steps=3,
    other_steps=2,
    search_samples=3,
    search_max_new_tokens=4,
    samples_per_prompt=1,
    final_max_new_tokens=4,
    prompts=["Hello there", "Tell me a story"],
)


class CountingJudge:
    """Coherent iff the text has fewer than 12 characters (deterministic, model-free)."""

    name = "counting"

    def __init__(self):
        self.calibrated = 0
        self.judged = 0

    def calibrate(self, prompts, completions):
        self.calibrated += 1

    def judge_coherence(self, prompts, completions):
        self.judged += len(completions)
        return [len(c) < 12 for c in completions]


def _diff(pair, positions=(0, 1, 2)):
    from adlens.core.activations import ActivationDiff

    torch.manual_seed(0)
    n, d = len(positions), pair.d_model
    return ActivationDiff(
        layers=[LAYER],
        labels=list(positions),
        mean_diff=torch.randn(1, n, d),
        mean_base=torch.randn(1, n, d),
        mean_ft=torch.randn(1, n, d),
        pos_norm_base=torch.tensor([[50.0] + [5.0] * (n - 1)]),  # position 0: a sink
        pos_norm_ft=torch.ones(1, n),
        pos_norm_diff=torch.ones(1, n),
        expected_norm={"base": torch.tensor([5.0]), "finetuned": torch.tensor([5.0])},
        n_docs=10,
        n_dropped=0,
        bos_at_0=True,
    )


def _counting_generate(monkeypatch):
    from adlens.pipeline import steer_stage

    calls = []
    real = steer_stage.generate

    def counting(pair, prompts, **kw):
        calls.append((kw.get("vector") is not None, len(prompts)))
        return real(pair, prompts, **kw)

    monkeypatch.setattr(steer_stage, "generate", counting)
    return calls


def test_choose_positions_skips_sinks(pair):
    from adlens.core.config import SteerConfig
    from adlens.pipeline.steer_stage import choose_positions
    from adlens.results.readings import Reading

    diff = _diff(pair)
    readers = [
        Reading(
            reader="patchscope", variant="diff", layer=LAYER, position=p, scale_score=s, tokens=[]
        )
        for p, s in ((0, 0.9), (1, 0.4), (2, 0.6))
    ]
    assert choose_positions(SteerConfig(positions="best"), diff, readers) == [(LAYER, 2)]
    assert choose_positions(SteerConfig(positions="all"), diff, readers) == [
        (LAYER, 0),
        (LAYER, 1),
        (LAYER, 2),
    ]
    from adlens.errors import AdlensError

    with pytest.raises(AdlensError, match="collected positions"):
        choose_positions(SteerConfig(positions=[7]), diff, readers)


def test_the_last_layer_is_read_not_steered(pair):
    """Added to the last block's output a vector is a fixed logit bias: with another layer
    read, the last one is not steered; read alone, it is."""
    from dataclasses import replace

    from adlens.core.config import SteerConfig
    from adlens.pipeline.steer_stage import choose_positions

    one = _diff(pair)
    two = replace(
        one,
        layers=[LAYER, 3],
        mean_diff=one.mean_diff.repeat(2, 1, 1),
        mean_base=one.mean_base.repeat(2, 1, 1),
        mean_ft=one.mean_ft.repeat(2, 1, 1),
        pos_norm_base=one.pos_norm_base.repeat(2, 1),
        pos_norm_ft=one.pos_norm_ft.repeat(2, 1),
        pos_norm_diff=one.pos_norm_diff.repeat(2, 1),
    )
    all_positions = SteerConfig(positions="all")
    assert {layer for layer, _ in choose_positions(all_positions, two, [], n_layers=4)} == {LAYER}
    assert {layer for layer, _ in choose_positions(all_positions, two, [])} == {LAYER, 3}
    last_only = replace(one, layers=[3])
    assert choose_positions(SteerConfig(positions=[1]), last_only, [], n_layers=4) == [(3, 1)]


def test_stage_shares_unsteered_samples_and_resumes(pair, tmp_path, monkeypatch):
    from adlens.core.config import SteerConfig
    from adlens.pipeline.steer_stage import SteerStage

    cfg = SteerConfig(**SMALL)
    diff = _diff(pair)
    calls = _counting_generate(monkeypatch)
    judge = CountingJudge()
    stage = SteerStage(tmp_path / "steer", pair, diff, cfg, judge, "h1", show_progress=False)
    real_position = SteerStage.position
    done = []

    def dies_on_third(self, layer, pos, unsteered):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(pos)
        return real_position(self, layer, pos, unsteered)

    monkeypatch.setattr(SteerStage, "position", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        stage.run([(LAYER, 0), (LAYER, 1), (LAYER, 2)])
    unsteered_calls = [c for c in calls if not c[0]]
    assert len(unsteered_calls) == 1  # the search prompts' unsteered samples, once
    monkeypatch.setattr(SteerStage, "position", real_position)
    calls.clear()
    stage = SteerStage(tmp_path / "steer", pair, diff, cfg, judge, "h1", show_progress=False)
    overview = stage.run([(LAYER, 0), (LAYER, 1), (LAYER, 2)])
    # Resumed: the unsteered search samples are loaded, positions 0 and 1 are not redone.
    assert sum(not c[0] for c in calls) == 1  # only the final unsteered samples
    assert judge.calibrated == 2  # the offline judge is calibrated again on the saved samples
    per = {p.position: p for p in overview.positions}
    assert set(per) == {0, 1, 2}
    g = overview.generations
    assert g["unsteered_search"] == 3 * 3 and g["unsteered_final"] == 2
    assert g["steered_final"] == 3 * 2
    assert g["steered_search"] == sum(p.search_generations for p in per.values())
    rows = [json.loads(x) for x in (tmp_path / "steer" / "samples.jsonl").read_text().splitlines()]
    assert sum(not r["steered"] for r in rows) == 2  # unsteered once, not per position
    assert {(r["layer"], r["position"]) for r in rows if r["steered"]} == {
        (LAYER, 0),
        (LAYER, 1),
        (LAYER, 2),
    }
    assert set(rows[0]) >= {"prompt_index", "prompt", "strength", "sample_index", "text"}
    points = [json.loads(x) for x in (tmp_path / "steer" / "search.jsonl").read_text().splitlines()]
    assert {p["strength"] for p in points if p["position"] == 2} >= {0.0}
    # A changed config hash starts over.
    stage = SteerStage(tmp_path / "steer", pair, diff, cfg, judge, "h2", show_progress=False)
    stage.prepare()
    assert not (tmp_path / "steer" / "unsteered_search.jsonl").exists()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from conftest import CORPUS

    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    path.write_text(
        "".join(json.dumps({"text": f"{CORPUS[i % 6]} Doc {i}."}) + "\n" for i in range(20))
    )
    return path


def test_pipeline_steer_stage_cached_on_rerun(tiny_dirs, corpus, tmp_path, monkeypatch):
    from adlens.core.config import (
        CollectConfig,
        JudgeConfig,
        ModelsConfig,
        ReadConfig,
        RunConfig,
        SteerConfig,
    )
    from adlens.core.data import TextSource
    from adlens.pipeline import stages as pipeline

    def config(**steer):
        return RunConfig(
            models=ModelsConfig(
                base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]), device="cpu"
            ),
            collect=CollectConfig(
                dataset=TextSource(name=str(corpus)),
                samples=10,
                positions=3,
                norm_docs=4,
                norm_tokens=12,
            ),
            read=ReadConfig(scales=[1.0, 2.0]),
            judge=JudgeConfig(backend="offline"),
            steer=SteerConfig(**(SMALL | {"enabled": True} | steer)),
        )

    out = tmp_path / "run"
    summary = pipeline.run(config(), out, show_progress=False)
    steer = summary.steer
    assert len(steer.positions) == 1 and steer.judges.startswith("judges: offline")
    for name in ("samples.jsonl", "search.jsonl", "search.json", "done.json"):
        assert (out / "steer" / name).exists(), name
    assert json.loads((out / "manifest.json").read_text())["config_hash"]["steer"]
    monkeypatch.setattr(pipeline, "load_pair", lambda *a: pytest.fail("models loaded"))
    assert pipeline.run(config(), out, show_progress=False).steer == steer
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "collect", lambda *a, **k: pytest.fail("recollected"))
    monkeypatch.setattr(pipeline, "read_stage", lambda *a, **k: pytest.fail("reread"))
    again = pipeline.run(config(samples_per_prompt=2), out, show_progress=False)
    assert again.steer.generations["steered_final"] == 4
    # --no-steer leaves the cached stages alone and does not load the models
    monkeypatch.setattr(pipeline, "load_pair", lambda *a: pytest.fail("models loaded"))
    assert pipeline.run(config(), out, steer=False, show_progress=False).readers


def test_cli_steer_options():
    from typer.testing import CliRunner

    from adlens.cli.app import app
    from adlens.cli.run import parse_positions
    from adlens.errors import AdlensError

    runner = CliRunner()
    run_help = runner.invoke(app, ["run", "--help"]).output
    assert "--steer" in run_help and "--steer-positions" in run_help
    assert "--steer" not in runner.invoke(app, ["collect", "--help"]).output
    steer_help = runner.invoke(app, ["steer", "--help"]).output
    assert "--steer-positions" in steer_help and "--no-steer" not in steer_help
    assert parse_positions("best") == "best" and parse_positions("1, 2") == [1, 2]
    with pytest.raises(AdlensError, match="steer-positions"):
        parse_positions("one")
