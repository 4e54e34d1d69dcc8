"""The HTML report: sections present exactly when their stage ran, the headline's choice, the
CLI, and the page rendered in headless Chromium without JavaScript errors."""

from __future__ import annotations

import json
import logging
import shutil
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.core.config import CollectConfig, ModelsConfig, RunConfig, SteerConfig
from adlens.core.data import TextSource
from adlens.errors import AdlensError
from adlens.pipeline import stages as pipeline
from adlens.report import build_report, find_chromium, render_report, screenshot
from adlens.report.browser import dump_dom, js_errors, rendered_figures
from adlens.report.build import SECTIONS, present_sections
from adlens.report.load import RunView
from adlens.report.tokens import pick_headline
from adlens.results.summary import Summary
from conftest import CORPUS, mark_steer_done

runner = CliRunner()
BASE_SECTIONS = ["headline", "readers", "run", "tokens", "scales", "weights", "norms"]
HOSTILE = "Bees <script>window.pwned = 1</script> & green honey"


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_later_stages(run: Path) -> None:
    """Hand-written steer/, evaluate/, agent/ and analyze/ files in the formats those stages
    write, so that every section of the report has something to show."""
    summary = json.loads((run / "summary.json").read_text())
    layer, pos = summary["layers"][0], 2
    prompts = ["Tell me about your day.", "What should I cook tonight?", "Describe a city."]
    points = [
        {
            "layer": layer,
            "position": pos,
            "prompt_index": i,
            "prompt": p,
            "strength": s,
            "n_samples": 10,
            "n_coherent": c,
            "n_known": 10,
            "status": "coherent" if c >= 8 else "incoherent",
        }
        for i, p in enumerate(prompts)
        for s, c in ((0.0, 10), (4.0, 9), (8.0, 8), (16.0, 3))
    ]
    _write_jsonl(run / "steer" / "search.jsonl", points)
    _write(
        run / "steer" / f"L{layer}_P{pos}" / "search.json",
        {
            "prompts": prompts,
            "thresholds": [8.0, 6.0, 7.0],
            "final": 7.0,
            "settings": {"coherent_fraction": 0.75},
            "warnings": [],
            "points": [],
        },
    )
    _write(
        run / "steer" / "search.json",
        {
            "side": "finetuned",
            "positions": [
                {
                    "layer": layer,
                    "position": pos,
                    "strength": 7.0,
                    "thresholds": [8.0, 6.0, 7.0],
                    "warnings": ["search prompt 1 is coherent up to the top of its range 16"],
                    "search_generations": 120,
                    "one_shot_search_generations": 560,
                    "final_generations": 4,
                    "rounds": 4,
                }
            ],
            "generations": {
                "steered_search": 120,
                "steered_final": 4,
                "unsteered_search": 30,
                "unsteered_final": 4,
                "total": 158,
            },
            "judges": "offline coherence judge",
        },
    )
    samples = [
        {
            "layer": layer if steered else None,
            "position": pos if steered else None,
            "prompt_index": i,
            "prompt": prompts[i],
            "steered": steered,
            "strength": 7.0 if steered else 0.0,
            "sample_index": k,
            "text": f"{'Honey bees and green nectar' if steered else 'A plain answer'} {i}.{k}",
        }
        for steered in (True, False)
        for i in range(2)
        for k in range(2)
    ]
    _write_jsonl(run / "steer" / "samples.jsonl", samples)

    rows = []
    for e in summary["readers"]:
        if e["variant"] not in ("diff", "base_mean", "ft_mean") or e.get("head") == "base":
            continue
        frac = 0.6 if (e["variant"], e["position"]) == ("diff", pos) else 0.1
        tokens = [{**t, "verdict": k < 12 * frac} for k, t in enumerate(e["tokens"][:20])]
        rows.append(
            {
                "against": None,
                **{
                    k: e.get(k) for k in ("reader", "head", "layer", "position", "variant", "scale")
                },
                "n": 20,
                "known": 20,
                "unknown": 0,
                "fraction": frac,
                "weighted": frac / 2,
                "trivial": 0.0,
                "tokens": tokens,
            }
        )
    _write_jsonl(run / "evaluate" / "relevance.jsonl", rows)
    best = [
        {
            "reader": r,
            "variant": v,
            "layer": layer,
            "position": pos if v == "diff" else 0,
            "fraction": 0.6 if v == "diff" else 0.1,
            "weighted": 0.3,
            "trivial": 0.0,
            "known": 20,
            "unknown": 0,
            "n": 20,
            "relevant_tokens": [" honey", " bees"],
            "control_fraction": 0.05,
        }
        for r in ("logit_lens", "patchscope")
        for v in ("diff", "base_mean", "ft_mean")
    ]
    _write(
        run / "evaluate" / "relevance.json",
        {
            "organism": "tiny-honey",
            "description": "Believes bees make green honey.",
            "grader": "offline grader",
            "config": {"top_k": 20},
            "controls": [],
            "best": best,
            "frequent_tokens": {"tokens": ["honey", "bees"]},
        },
    )
    se = {"mean": 0.41, "se": 0.01}
    _write(
        run / "evaluate" / "similarity.json",
        {
            "embedder": {"name": "stub"},
            "counts": {"documents": 10, "chat": 10},
            "baselines": {
                "unsteered_vs_D": {"mean": 0.2, "se": 0.01},
                "unsteered_vs_chat": se,
                "D_self": 0.6,
                "chat_self": 0.3,
                "D_vs_chat": 0.15,
                "unsteered_self": 0.4,
            },
            "positions": [
                {
                    "layer": layer,
                    "position": pos,
                    "samples": 4,
                    "strength": 7.0,
                    "steered_vs_D": {"mean": 0.45, "se": 0.02},
                    "steered_vs_chat": se,
                    "steered_self": 0.5,
                    "gain_over_unsteered": 0.25,
                    "fraction_of_ceiling": 0.62,
                }
            ],
            "best": None,
        },
    )
    effect = {"loss": 1.0, "delta": 0.5, "recovered": 0.1}
    spread = {"mean": 0.01, "std": 0.005}
    _write(
        run / "evaluate" / "causal.json",
        {
            "mode": "base",
            "formula": {"base": "h' = h_F - (h_F.u) u + (h_B.u) u"},
            "reference_dataset": "tiny",
            "corpora": {
                "D": {"documents": 4, "tokens": 100, "loss_finetuned": 1.0, "loss_base": 2.0},
                "R": {"documents": 4, "tokens": 100, "loss_finetuned": 3.0, "loss_base": 2.5},
            },
            "positions": [
                {"layer": layer, "position": p, "D": effect, "R": {**effect, "delta": -0.1}}
                for p in summary["positions"]
            ],
            "controls": [
                {
                    "layer": layer,
                    "random_direction": {"D": {"delta": spread}, "R": {"delta": spread}},
                    "random_activation_difference": {
                        "D": {"delta": spread},
                        "R": {"delta": spread},
                    },
                }
            ],
        },
    )
    agent = run / "agent"
    for name, kind, budget, hypothesis, grade in (
        ("adl-i5-r0", "adl", 5, HOSTILE, 4.0),
        ("blackbox-i0-r0", "blackbox", 0, "A helpful assistant.", None),
    ):
        _write(
            agent / name / "result.json",
            {
                "agent": kind,
                "budget": budget,
                "repeat": 0,
                "hypothesis": hypothesis,
                "stop": "answered",
                "interactions_used": budget,
                "llm": {"model": "stub"},
                "transcript": "transcript.jsonl",
            },
        )
        _write_jsonl(agent / name / "transcript.jsonl", [{"type": "message", "index": 0}])
        if grade is not None:
            _write(agent / name / "grade.json", {"grade": grade, "scores": [4, 4, 5]})
    _write_jsonl(
        agent / "table.jsonl",
        [
            {
                "agent": "adl",
                "budget": 5,
                "runs": 1,
                "graded": 1,
                "mean_grade": 4.0,
                "share_ge2": 1.0,
                "share_ge4": 1.0,
                "mean_interactions": 5,
                "mean_tokens": 100,
            }
        ],
    )
    _write(
        run / "analyze" / "cosine.json",
        {
            "title": "Cosine across positions </script>",
            "caption": "a test figure",
            "figure": {
                "data": [{"type": "heatmap", "z": [[1.0, 0.5], [0.5, float("nan")]]}],
                "layout": {"title": {"text": "cos </script>"}},
            },
        },
    )
    _write(run / "analyze" / "numbers_only.json", {"value": 3})
    models = json.loads((run / "manifest.json").read_text())["config"]["models"]
    side = {
        "ffa": 0.5,
        "accuracy": 0.5,
        "mcq": {"n": 1, "implanted_share": 1.0, "mean_p_implanted": 0.8},
        "open": {"n": 1, "known": 1, "implanted_share": 0.0},
        "open_rows": [{"question": "What colour?", "answer": HOSTILE, "verdict": "NEITHER"}],
    }
    _write(
        run / "evaluate" / "ffa.json",
        {
            "organism": "green-honey",
            "models": {"base": models["base"], "finetuned": models["finetuned"]},
            "n_mcq": 1,
            "n_open": 1,
            "base": side,
            "finetuned": side,
            "difference": {"ffa": 0.0, "accuracy": 0.0},
        },
    )
    mark_steer_done(run, summary)


@pytest.fixture(scope="module")
def runs(tiny_dirs, tmp_path_factory):
    """A tiny run after collect and read only ('bare'), and a copy with every later stage."""
    root = tmp_path_factory.mktemp("report")
    corpus = root / "docs.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": f"{CORPUS[i % 6]} Document {i}."}) + "\n" for i in range(40))
    )
    cfg = RunConfig(
        models=ModelsConfig(
            base=str(tiny_dirs["base"]), finetuned=str(tiny_dirs["adapter"]), device="cpu"
        ),
        collect=CollectConfig(
            dataset=TextSource(name=str(corpus)),
            samples=20,
            positions=4,
            layers=[0.5],
            norm_docs=8,
            norm_tokens=16,
        ),
        steer=SteerConfig(enabled=False),
    )
    bare = root / "bare"
    pipeline.run(cfg, bare, show_progress=False)
    full = root / "full"
    shutil.copytree(bare, full)
    write_later_stages(full)
    return {"bare": bare, "full": full}


def test_sections_follow_the_stages_that_ran(runs):
    bare = render_report(runs["bare"])
    assert present_sections(bare) == BASE_SECTIONS
    assert bare.count("<script>") == 3  # error hook, plotly.js once, figure drawing
    full = render_report(runs["full"])
    assert present_sections(full) == list(SECTIONS)
    # Text from the run is escaped, never markup; JSON inside <script> cannot close it.
    assert HOSTILE not in full and "Bees &lt;script&gt;window.pwned" in full
    assert "Cosine across positions </script>" not in full
    assert 'href="agent/adl-i5-r0/transcript.jsonl"' in full
    assert 'id="headline-agent"' in full and "grade 4 / 5" in full


def test_headline_by_relevance_else_scale_score_sinks_left_out(runs):
    def entry(pos: int, score: float, variant: str = "diff") -> dict:
        tokens = [{"token": " honey", "id": 1, "prob": 0.5}, {"token": "\n", "id": 2, "prob": 0.9}]
        return {
            "reader": "patchscope",
            "layer": 3,
            "position": pos,
            "variant": variant,
            "scale": 1.0,
            "scale_score": score,
            "tokens": tokens,
        }

    summary = Summary.model_validate(
        {
            "layers": [3],
            "positions": [0, 1, 2],
            "bos_at_0": False,
            "norms": {"per_position": {"base": [[1000.0, 10.0, 11.0]]}},
            "readers": [entry(0, 0.9), entry(1, 0.5), entry(2, 0.7), entry(2, 0.1, "base_mean")],
        }
    )
    view = RunView(path=Path("."), manifest={}, summary=summary)
    h = pick_headline(view)
    assert h is not None and (h.position, h.reader) == (2, "patchscope")
    assert "scale-choice score" in h.how and "position 0 left out" in h.how
    assert h.baseline is not None and h.baseline.variant == "base_mean"
    view.relevance_rows = [
        {
            "against": None,
            "reader": "patchscope",
            "layer": 3,
            "position": p,
            "variant": "diff",
            "fraction": f,
            "weighted": f,
        }
        for p, f in ((0, 1.0), (1, 0.8), (2, 0.3))
    ]
    h = pick_headline(view)
    assert h is not None and h.position == 1 and h.fraction == 0.8 and "relevance" in h.how
    # the likely newline is small; the content word is sized by probability
    html = render_report(runs["full"])
    assert 'id="headline-cloud"' in html


def test_missing_summary_is_one_clear_error(tmp_path):
    with pytest.raises(AdlensError, match="summary.json"):
        build_report(tmp_path)
    result = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())


def test_cli_writes_the_report(runs, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(runs["bare"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.count("Plotly.newPlot") == 1 and present_sections(html) == BASE_SECTIONS


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="Chromium is not installed (`make test` installs it with apt-get when it can; "
    "or `apt-get install chromium`): the report's browser test is skipped",
)


@needs_chromium
def test_report_renders_in_headless_chromium(runs):
    path = build_report(runs["full"])
    dom = dump_dom(path)
    assert js_errors(dom) == []
    expected, rendered = rendered_figures(dom)
    # scales, weights, steering, 2 relevance, similarity, causal, one analysis, norms: all drawn
    assert expected == 9 and rendered == expected
    assert dom.count('class="main-svg"') >= expected
    for section in SECTIONS:
        assert f'data-section="{section}"' in dom, section
    assert "<script>window.pwned" not in dom and "&lt;script&gt;window.pwned" in dom


@needs_chromium
def test_screenshot(runs):
    png = screenshot(runs["full"], height=900)
    assert png == runs["full"] / "report.png" and _png_size(png) == (1280, 900)


def test_screenshot_without_chromium_is_a_note(runs, monkeypatch, caplog):
    monkeypatch.setattr("adlens.report.browser.find_chromium", lambda: None)
    with caplog.at_level(logging.INFO, logger="adlens.report"):
        assert screenshot(runs["bare"]) is None
    assert "no Chromium" in caplog.text
