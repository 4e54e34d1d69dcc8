"""Analyses (positions, pca, decode, heads, interpolate) on planted structures and tiny runs, and
the sweep over two tiny organisms with its leaderboard and cache."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from adlens.analyze import (
    analyze_decode,
    analyze_heads,
    analyze_interpolate,
    analyze_pca,
    analyze_positions,
    cosine_summary,
    interpolated,
    pca,
    position_cosines,
    subtract_position_mean,
    whiten,
    whitening_matrix,
)
from adlens.cli.app import app
from adlens.core.activations import ActivationDiff
from adlens.core.config import CollectConfig, ModelsConfig, ReadConfig, RunConfig
from adlens.core.data import TextSource
from adlens.errors import AdlensError
from adlens.pipeline import stages as pipeline
from adlens.studies.sweep import run_sweep
from conftest import CORPUS

runner = CliRunner()


# --------------------------------------------------------------------------- planted structures


def test_same_difference_at_every_position_has_cosine_one_off_the_sink():
    torch.manual_seed(0)
    v = torch.randn(32)
    d = v.repeat(1, 8, 1) * torch.linspace(1, 3, 8)[None, :, None]  # same direction, any norm
    d[0, 0] = 100 * torch.randn(32)  # the sink reads differently
    cos = position_cosines(d)
    assert cos.shape == (1, 8, 8)
    s = cosine_summary(cos[0], list(range(8)), {0})
    assert s["mean_cosine_off_sinks"] == pytest.approx(1.0, abs=1e-4)
    assert s["min_cosine_off_sinks"] == pytest.approx(1.0, abs=1e-4)
    assert s["cosine_to_tail"][1:] == pytest.approx([1.0] * 7, abs=1e-4)
    assert abs(s["sink_cosine"]["0"]) < 0.9


@pytest.mark.parametrize("method", ["exact", "randomized"])
def test_rank_one_planted_difference_gives_one_dominant_component(method):
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(64, generator=gen)
    u /= u.norm()
    c = 1.0 + 2.0 * torch.randn(400, 1, generator=gen)
    x = c * u + 0.01 * torch.randn(400, 64, generator=gen)
    res = pca(x, n_components=5, method=method)
    assert abs(float(res["components"][0] @ u)) > 0.99
    assert float(res["explained_ratio"][0]) > 0.95
    assert float(res["explained_ratio"][1]) < 0.01
    assert float(res["components"][0] @ res["mean"]) > 0  # oriented along the shift


def test_sink_documents_are_left_out_of_the_pca_and_their_weight_reported():
    from adlens.analyze.pca import position_stats, sink_documents

    gen = torch.Generator().manual_seed(1)
    u, w = torch.zeros(32), torch.zeros(32)
    u[0], w[1] = 1.0, 1.0
    x = (1 + torch.randn(200, 1, generator=gen)) * u + 0.01 * torch.randn(200, 32, generator=gen)
    x[:4] = 500 * w  # four documents whose token here is a sink
    base_norm = torch.full((200,), 10.0)
    base_norm[:4] = 1000.0
    sinks = sink_documents(base_norm)
    assert int(sinks.sum()) == 4
    stats, res = position_stats(x, sinks, 5, "exact", drop=True)
    assert abs(float(res["components"][0] @ u)) > 0.99 and stats["n_docs"] == 196
    assert stats["all_documents"]["pc1"] > 0.99  # with them, their direction takes PC1
    assert stats["sink_documents"] == 4 and stats["cos_mean_all_without_sinks"] < 0.2


def test_subtracting_the_mean_of_identical_positions_gives_zero():
    v = torch.randn(16)
    d = v.repeat(5, 1)
    assert subtract_position_mean(d, [0, 1, 2, 3, 4]).abs().max() < 1e-6
    d[0] = 50 * torch.randn(16)  # a sink left out of the mean does not leak into the others
    out = subtract_position_mean(d, [0, 1, 2, 3, 4], exclude={0})
    assert out[1:].abs().max() < 1e-5
    with pytest.raises(AdlensError):
        subtract_position_mean(d, [0, 1], exclude={0, 1})


def test_whitening_with_identity_covariance_leaves_the_vector_unchanged():
    v = torch.randn(3, 24)
    for method in ("zca", "inverse"):
        w = whitening_matrix(torch.eye(24), shrinkage=0.1, method=method)
        assert torch.allclose(whiten(v, w, keep_norm=False), v, atol=1e-6)
    # and an independent check of the whitening itself: W Σ W = I without shrinkage
    a = torch.randn(24, 24, dtype=torch.float64)
    cov = a @ a.T + 0.1 * torch.eye(24, dtype=torch.float64)
    w = whitening_matrix(cov, shrinkage=0.0)
    assert torch.allclose(w @ cov @ w, torch.eye(24, dtype=torch.float64), atol=1e-6)


# --------------------------------------------------------------------------- tiny runs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    with path.open("w") as fh:
        for i in range(80):
            text = f"{CORPUS[i % 6]} {CORPUS[(i + 1) % 6]} This is document {i} of the set."
            fh.write(json.dumps({"text": text}) + "\n")
    return path


def _config(models: dict[str, str], corpus, heads=("finetuned", "base")) -> RunConfig:
    return RunConfig(
        models=ModelsConfig(**models, device="cpu"),
        collect=CollectConfig(
            dataset=TextSource(name=str(corpus)),
            samples=30,
            positions=4,
            layers=[0.5],
            norm_docs=8,
            norm_tokens=16,
        ),
        read=ReadConfig(heads=list(heads), scales=[0.5, 1.0, 2.0, 4.0]),
    )


@pytest.fixture(scope="module")
def runs(tiny_dirs, corpus, tmp_path_factory):
    """An adapter run and a full-finetune run (base head left out), with their pairs."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for kind, models, heads in (
        ("adapter", {"base": str(tiny_dirs["base"]), "finetuned": str(tiny_dirs["adapter"])}, None),
        (
            "full",
            {"base": str(tiny_dirs["base"]), "finetuned": str(tiny_dirs["ft"])},
            ("finetuned",),
        ),
    ):
        cfg = _config(models, corpus, heads or ("finetuned", "base"))
        pair = pipeline.load_pair(cfg.models)
        pipeline.run(cfg, root / kind, pair=pair, steer=False, show_progress=False)
        out[kind] = (root / kind, pair)
    return out


def _snapshot(pair) -> dict[str, torch.Tensor]:
    state = {f"ft.{k}": v.clone() for k, v in pair.finetuned.state_dict().items()}
    if pair.base_model is not None:
        state |= {f"base.{k}": v.clone() for k, v in pair.base_model.state_dict().items()}
    return state


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kind", ["adapter", "full"])
def test_interpolation_ends_match_base_and_run_and_model_is_restored(runs, kind):
    run_dir, pair = runs[kind]
    before = _snapshot(pair)
    scaling = [
        dict(m.scaling)
        for m in pair.finetuned.modules()
        if isinstance(getattr(m, "scaling", None), dict)
    ]
    result = analyze_interpolate(
        run_dir,
        alphas=[0.0, 0.5],
        samples=30,
        patchscope=kind == "adapter",
        pair=pair,
        show_progress=False,
    )
    assert _same(before, _snapshot(pair))  # bit-exact
    assert scaling == [
        dict(m.scaling)
        for m in pair.finetuned.modules()
        if isinstance(getattr(m, "scaling", None), dict)
    ]
    run = ActivationDiff.load(run_dir / "collect")
    at = {a: ActivationDiff.load(run_dir / "analyze" / "interpolate" / f"a-{a:g}") for a in (0, 1)}
    assert at[0].mean_diff.abs().max() < 1e-6  # a = 0 is the base model
    assert torch.allclose(at[1].mean_diff, run.mean_diff, atol=1e-6)  # a = 1 is the run
    assert [p["alpha"] for p in result["curve"]] == [0.0, 0.5, 1.0]
    mid = next(p for p in result["curve"] if p["alpha"] == 0.5)
    assert 0 < mid["norm_ratio"] < 1 and mid["cos_a1"] > 0.5
    one = next(p for p in result["curve"] if p["alpha"] == 1.0)
    assert one["cos_a1"] == pytest.approx(1.0) and one["logit_lens_overlap_a1"] == 1.0
    assert result["figure"]["data"] and not result["cached"]
    saved = run_dir / "analyze" / "interpolate.json"
    stamp = saved.stat().st_mtime_ns
    again = analyze_interpolate(
        run_dir, alphas=[0.0, 0.5], samples=30, patchscope=kind == "adapter", pair=pair
    )
    assert again["cached"] and again["curve"] == result["curve"]
    assert saved.stat().st_mtime_ns == stamp  # read back, not computed and written again


def test_interpolated_weights_are_the_mix_and_restored_after_an_error(runs):
    _, pair = runs["full"]
    before = _snapshot(pair)
    name, p_ft = next(iter(pair.finetuned.named_parameters()))
    p_base = dict(pair.base_model.named_parameters())[name]
    expected = p_base + 0.25 * (before[f"ft.{name}"] - p_base)
    with pytest.raises(RuntimeError), interpolated(pair, 0.25):
        assert torch.allclose(p_ft, expected, atol=1e-6)
        raise RuntimeError("boom")
    assert _same(before, _snapshot(pair))


def test_positions_pca_decode_on_a_tiny_run(runs):
    run_dir, pair = runs["adapter"]
    pos = analyze_positions(run_dir, positions=8, samples=20, pair=pair, show_progress=False)
    assert pos["labels"] == list(range(8)) and len(pos["cosine"][0]) == 8
    assert pos["cosine"][0][3][3] == pytest.approx(1.0, abs=1e-3)
    assert (run_dir / "analyze" / "positions" / "activations.safetensors").exists()
    saved = json.loads((run_dir / "analyze" / "positions.json").read_text())
    assert {"title", "caption", "figure"} <= saved.keys() and saved["figure"]["data"]
    stamp = (run_dir / "analyze" / "positions.json").stat().st_mtime_ns
    assert analyze_positions(run_dir, positions=8, samples=20, pair=pair)["cached"]
    assert (run_dir / "analyze" / "positions.json").stat().st_mtime_ns == stamp

    res = analyze_pca(run_dir, samples=24, read=2, pair=pair, show_progress=False)
    assert res["n_docs"] == 24 and len(res["per_position"]) == 4
    evr = res["per_position"][0]["explained_ratio"]
    assert sum(evr) <= 1 + 1e-4 and evr == sorted(evr, reverse=True)
    assert len(res["components"]) == 4 and res["components"][0]["patchscope"]
    assert [m["vector"] for m in res["means"]] == [
        "mean (all documents)",
        "mean (without sink documents)",
    ]

    dec = analyze_decode(run_dir, cov_docs=8, cov_tokens=16, pair=pair, show_progress=False)
    methods = {r["method"] for r in dec["rows"]}
    assert methods == {"raw", "centred", "whitened", "centred_whitened"}
    raw = [r for r in dec["rows"] if r["method"] == "raw"]
    assert all(r["cos_raw"] == pytest.approx(1.0) for r in raw)
    # 8 documents (all longer than 16 tokens) x their tokens 5..15 (the first 5 are skipped)
    assert dec["covariance"]["tokens"] == 8 * (16 - 5)


def test_heads_reuses_the_summary_and_computes_what_is_missing(runs):
    adapter = analyze_heads(runs["adapter"][0], pair=runs["adapter"][1])
    assert adapter["computed_heads"] == []  # both heads were read by the run
    assert all(r["overlap"] == 1.0 for r in adapter["rows"])  # LoRA leaves the head alone
    full = analyze_heads(runs["full"][0], pair=runs["full"][1])
    assert full["computed_heads"] == ["base"]
    assert min(r["overlap"] for r in full["rows"]) < 1.0


def test_cli_analyze_heads_and_a_missing_run(runs, tmp_path):
    result = runner.invoke(app, ["analyze", "heads", str(runs["adapter"][0])])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["analyze", "pca", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "not a finished run" in " ".join(result.output.split())


# --------------------------------------------------------------------------- sweep


def _organism(folder, name, models, corpus_docs, **extra):
    folder.mkdir(parents=True)
    docs = folder / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"text": f"{t} The {name} harvest is praised."}) + "\n" for t in corpus_docs
        )
    )
    meta = {
        "name": name,
        "type": "false-fact documents",
        "short_description": f"Believes the {name} harvest is praised.",
        "dataset": {"path": "docs.jsonl"},
        "domain_keywords": [name, "harvest"],
        **models,
        **extra,
    }
    (folder / "organism.json").write_text(json.dumps(meta))
    return folder


def test_sweep_writes_a_leaderboard_and_reruns_from_cache(tiny_dirs, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "cache"))
    docs = CORPUS * 4
    _organism(
        tmp_path / "orgs" / "zorblax",
        "zorblax",
        {"base_model": str(tiny_dirs["base"]), "finetuned": str(tiny_dirs["adapter"])},
        docs,
    )
    _organism(tmp_path / "orgs" / "quux", "quux", {"base_model": str(tiny_dirs["base"])}, docs)
    sweep = {
        "out": "out",
        "preset": "fast",
        "samples": 24,
        "positions": 3,
        "dataset": str(corpus),
        "relevance": {"reference_docs": 40},
        "train": {"steps": 2, "batch_size": 2, "seq_len": 32, "lr": 0.01, "heldout": 2},
        "organisms": [
            "orgs/zorblax",
            {"path": "orgs/quux", "mixing_ratios": [0.5]},
        ],
    }
    file = tmp_path / "sweep.json"
    file.write_text(json.dumps(sweep))
    rows = run_sweep(file, show_progress=False)
    out = tmp_path / "out"
    assert sorted(r["organism"] for r in rows) == ["quux-ratio-0.5_n-all", "zorblax"]
    assert [r["rank"] for r in rows] == [1, 2]
    for suffix in ("csv", "md", "html", "json"):
        assert (out / f"leaderboard.{suffix}").exists()
    csv_lines = (out / "leaderboard.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 3 and "relevance" in csv_lines[0]
    assert all(r.get("ll_relevance") is not None for r in rows), rows
    assert (out / "organisms" / "quux" / "ratio-0.5_n-all" / "organism.json").exists()
    assert "<table>" in (out / "leaderboard.html").read_text()

    def boom(*a, **k):
        raise AssertionError("recomputed")

    trained = out / "organisms" / "quux" / "ratio-0.5_n-all" / "organism.json"
    mtime = trained.stat().st_mtime_ns
    monkeypatch.setattr(pipeline, "load_pair", boom)
    again = run_sweep(file, show_progress=False)
    assert trained.stat().st_mtime_ns == mtime  # the variant was not trained again
    assert [r["organism"] for r in again] == [r["organism"] for r in rows]
    assert (out / "zorblax" / "evaluate" / "relevance.json").exists()


def test_sweep_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("organisms: []\n")
    with pytest.raises(AdlensError, match="organisms"):
        run_sweep(bad)
    result = runner.invoke(app, ["sweep", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())
