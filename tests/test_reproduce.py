"""`adlens reproduce` and the sweep's evaluations: which evaluation runs for which organism, the
agents' plan per preset, and one-line errors for bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.core.config import JudgeConfig
from adlens.errors import AdlensError
from adlens.organisms import BUNDLED
from adlens.organisms.organism import load_organism
from adlens.studies import sweep_evaluations as evaluations
from adlens.studies.sweep_evaluations import SweepAgent, run_evaluations


def test_agent_plan_follows_the_preset_and_the_sweep_overrides_it():
    paper = SweepAgent().plan("paper")
    assert (paper["budgets"], paper["black_box_budgets"], paper["repeats"]) == (
        [0, 5],
        [0, 5, 50],
        5,
    )
    assert paper["settings"]["model_max_new_tokens"] == 256
    fast = SweepAgent().plan("fast")
    assert fast["black_box_budgets"] == [0, 5] and fast["repeats"] == 1
    mine = SweepAgent(repeats=2, black_box_budgets=[0], settings={"sample_chars": 50})
    plan = mine.plan("paper")
    assert plan["repeats"] == 2 and plan["black_box_budgets"] == [0] and plan["budgets"] == [0, 5]
    assert plan["settings"] == {
        "model_max_new_tokens": 256,
        "model_temperature": 0.8,
        "sample_chars": 50,
        "max_reply_tokens": 10_000,
    }


@pytest.fixture
def calls(monkeypatch):
    seen: list[str] = []

    def record(name, fail=False):
        def fn(*args):
            seen.append(name)
            if fail:
                raise AdlensError(f"{name} cannot run here")

        return fn

    monkeypatch.setattr(evaluations, "_similarity", record("similarity"))
    monkeypatch.setattr(evaluations, "_ffa", record("ffa"))
    monkeypatch.setattr(evaluations, "_agents", record("agent", fail=True))
    return seen


def test_evaluations_run_what_is_asked_and_fit_the_organism(calls, tmp_path):
    fact = load_organism(BUNDLED / "fact-mars-ring")
    owl = load_organism(BUNDLED / "persona-owl")
    judge = JudgeConfig(backend="offline")
    kw = dict(preset="fast", judge=judge, show_progress=False)
    notes = run_evaluations(
        tmp_path, fact, similarity=True, ffa=True, agent=True, steered=True, **kw
    )
    assert calls == ["similarity", "ffa", "agent"]
    assert notes == ["agent: agent cannot run here"]  # a failure is a note, not a crash
    calls.clear()
    notes = run_evaluations(
        tmp_path, owl, similarity=True, ffa=True, agent=False, steered=False, **kw
    )
    assert calls == []  # no steering: no similarity; not a false fact: no FFA
    assert notes == ["similarity: needs steering (steer: true)"]
    assert (
        run_evaluations(
            tmp_path, fact, similarity=False, ffa=False, agent=False, steered=True, **kw
        )
        == []
    )
    with pytest.raises(AdlensError, match="agent settings: repeats"):
        run_evaluations(
            tmp_path, fact, similarity=False, ffa=False, agent={"repeats": 0}, steered=True, **kw
        )
    with pytest.raises(AdlensError, match="agent settings: budget"):
        run_evaluations(
            tmp_path, fact, similarity=False, ffa=False, agent={"budget": 3}, steered=True, **kw
        )
    with pytest.raises(AdlensError, match="`ffa:` must be true, false or a mapping"):
        run_evaluations(tmp_path, fact, similarity=False, ffa=[1], agent=False, steered=True, **kw)


def test_reproduce_is_a_one_organism_sweep_with_every_evaluation(monkeypatch, tmp_path):
    import adlens.studies.sweep as sweep

    captured = {}

    def fake_run_sweep(cfg, out, root=None):
        captured["cfg"], captured["out"] = cfg, out
        return [
            {
                "organism": "cake_bake-qwen3_1_7b",
                "run": str(Path(out) / "x"),
                "notes": "agent: no LLM",
            }
        ]

    monkeypatch.setattr(sweep, "run_sweep", fake_run_sweep)
    result = CliRunner().invoke(
        app,
        [
            "reproduce",
            "cake_bake/qwen3_1_7b",
            "--out",
            str(tmp_path),
            "--judge-model",
            "openai/gpt-5-mini",
            "--judge-role",
            "coherence=openai/gpt-5-nano",
            "--no-ffa",
        ],
    )
    assert result.exit_code == 0, result.output
    cfg = captured["cfg"]
    assert [o.path for o in cfg.organisms] == ["cake_bake/qwen3_1_7b"]
    assert cfg.preset == "paper" and cfg.steer is True and cfg.agent is True
    assert cfg.similarity is True and cfg.ffa is False
    judge = JudgeConfig(**cfg.judge)
    assert judge.model == "openai/gpt-5-mini"
    assert judge.for_role("coherence").model == "openai/gpt-5-nano"
    assert judge.for_role("tournament").model == "openai/gpt-5-mini"
    assert "note: agent: no LLM" in result.output


def test_reproduce_refuses_bad_input_in_one_line(tmp_path):
    runner = CliRunner()
    cases = [
        (["reproduce", "cake_bake/qwen3_1_7b", "--documents", "0"], "--documents"),
        (["reproduce", "cake_bak", "--out", str(tmp_path), "--no-steer"], "cake_bake"),
        (["reproduce", "cake_bake/qwen3_1_7b", "--judge-role", "painter=x"], "painter"),
    ]
    for args, needle in cases:
        result = runner.invoke(app, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert needle in result.output and "Traceback" not in result.output, result.output
