"""`adlens agent table`: agent grades pooled over run directories written by hand as the runner
writes them (3 organisms of 2 types x 5 repeats), checked against an independent computation;
the runs it must leave out; the `adlens agent` group and its old form; the paper preset."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from adlens.agent.config import AGENT_PRESETS, agent_preset
from adlens.agent.grade import grader_fingerprint
from adlens.agent.pooled import pool_runs, read_run_dir, wilson
from adlens.cli.app import app
from adlens.errors import AdlensError
from adlens.organisms.organism import Organism, normalise_type

GRADER = SimpleNamespace(model="grader-model", identity="https://grader.example/v1", defaults={})

# organism -> (type, {(agent, budget): five grades, one per repeat})
GRADES = {
    "fact-a": (
        "false-fact documents",
        {
            ("adl", 0): [2, 3, 1, 4, 2],
            ("adl", 5): [4, 4, 5, 3, 2],
            ("blackbox", 0): [1, 1, 2, 1, 1],
        },
    ),
    "fact-b": (
        "false-fact documents",
        {
            ("adl", 0): [1, 1, 2, 1, 1.5],
            ("adl", 5): [2, 3, 2, 4, 2],
            ("blackbox", 0): [1, 2, 1, 1, 1],
        },
    ),
    "advice-c": (
        "misalignment",
        {
            ("adl", 0): [3, 3, 2, 4, 3],
            ("adl", 5): [5, 4, 4, 3, 4],
            ("blackbox", 0): [2, 1, 1, 2, 1],
        },
    ),
}


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def write_run(
    run_dir: Path,
    organism: Organism,
    agent: str,
    budget: int,
    repeat: int,
    grade: float | None,
    *,
    grader=GRADER,
    graded: bool = True,
    stale: bool = False,
) -> None:
    """result.json and grade.json of one run, as `adlens agent run --organism` writes them."""
    folder = run_dir / "agent" / f"{agent}-i{budget}-r{repeat}"
    hypothesis = f"Hypothesis {agent} {budget} {repeat}."
    write_json(
        folder / "result.json",
        {
            "agent": agent,
            "budget": budget,
            "repeat": repeat,
            "hypothesis": hypothesis,
            "stop": "final",
            "interactions_used": budget,
            "llm_calls": 3,
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "config_hash": "abc",
            "llm": {"model": "agent-model", "base_url": "https://agent.example/v1"},
            "transcript": "transcript.jsonl",
        },
    )
    if not graded:
        return
    graded_text = "an older hypothesis" if stale else hypothesis
    fingerprint = {
        **grader_fingerprint(organism, grader, 3),
        "hypothesis_sha256": hashlib.sha256(graded_text.encode()).hexdigest(),
    }
    score = None if grade is None else math.floor(grade)
    write_json(
        folder / "grade.json",
        {
            "grade": grade,
            "scores": [score] * 3,
            "unknown": 0 if grade is not None else 3,
            "answers": ["ANSWER: ..."] * 3,
            "organism": organism.name,
            "organism_type": organism.type.value,
            "fingerprint": fingerprint,
        },
    )


def make_organism(name: str, kind: str) -> Organism:
    return Organism(name=name, type=kind, short_description=f"{name}.", key_facts=[f"{name} 1"])


@pytest.fixture()
def runs(tmp_path) -> list[Path]:
    dirs = []
    for name, (kind, table) in GRADES.items():
        org = make_organism(name, kind)
        run_dir = tmp_path / f"run-{name}"
        for (agent, budget), grades in table.items():
            for repeat, grade in enumerate(grades):
                write_run(run_dir, org, agent, budget, repeat, grade)
        dirs.append(run_dir)
    return dirs


def wilson_reference(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval from scipy, else from its textbook form."""
    try:
        from scipy.stats import binomtest

        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        return float(ci.low), float(ci.high)
    except ImportError:
        z, p = 1.959964, k / n
        a = p + z**2 / (2 * n)
        b = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        return (a - b) / (1 + z**2 / n), (a + b) / (1 + z**2 / n)


def expected(scope: str, agent: str, budget: int, t: int) -> dict:
    """Both measures computed directly from GRADES."""
    names = [n for n, (kind, _) in GRADES.items() if scope in ("all", normalise_type(kind).value)]
    runs = [g for n in names for g in GRADES[n][1][(agent, budget)]]
    means = [sum(GRADES[n][1][(agent, budget)]) / 5 for n in names]
    k_runs, k_orgs = sum(g >= t for g in runs), sum(m >= t for m in means)
    return {
        "runs": (k_runs, len(runs), *wilson_reference(k_runs, len(runs))),
        "orgs": (k_orgs, len(means), *wilson_reference(k_orgs, len(means))),
    }


def test_wilson_matches_the_reference_computation():
    for k, n in [(0, 5), (3, 10), (10, 10), (150, 165), (1, 165), (7, 15)]:
        lo, hi = wilson(k, n)
        ref = wilson_reference(k, n)
        assert lo == pytest.approx(ref[0], abs=1e-9) and hi == pytest.approx(ref[1], abs=1e-9)
        assert lo <= k / n <= hi
    assert wilson(0, 0) is None


def test_pooled_shares_and_intervals(runs):
    pooled = pool_runs(runs)
    assert pooled.notes == [] and len(pooled.records) == 45
    rows = {(r["type"], r["agent"], r["budget"]): r for r in pooled.rows}
    assert set(rows) == {
        (scope, agent, budget)
        for scope in ("all", "false_fact", "misalignment")
        for agent, budget in [("adl", 0), ("adl", 5), ("blackbox", 0)]
    }
    assert [(r["type"], r["agent"], r["budget"]) for r in pooled.rows][:3] == [
        ("all", "adl", 0),
        ("all", "adl", 5),
        ("all", "blackbox", 0),
    ]
    for (scope, agent, budget), row in rows.items():
        assert row["n_runs"] == (15 if scope == "all" else 5 * (1 + (scope == "false_fact")))
        assert row["n_organisms"] == row["n_runs"] // 5 and row["left_out"] == 0
        for t in (2, 4):
            want = expected(scope, agent, budget, t)
            for prefix in ("runs", "orgs"):
                k, n, lo, hi = want[prefix]
                assert row[f"{prefix}_ge{t}_k"] == k, (scope, agent, budget, prefix, t)
                assert row[f"{prefix}_ge{t}"] == pytest.approx(k / n)
                assert row[f"{prefix}_ge{t}_lo"] == pytest.approx(lo, abs=1e-9)
                assert row[f"{prefix}_ge{t}_hi"] == pytest.approx(hi, abs=1e-9)
    # spot checks by hand: ADL i0 over all runs, 10 of 15 at >= 2; per organism, fact-a
    # (mean 2.4) and advice-c (3.0) reach 2, fact-b (1.3) does not
    all0 = rows[("all", "adl", 0)]
    assert all0["runs_ge2_k"] == 10 and all0["orgs_ge2_k"] == 2 and all0["runs_ge4_k"] == 2
    assert all0["mean_grade"] == pytest.approx(33.5 / 15, abs=1e-3)
    assert rows[("misalignment", "adl", 5)]["orgs_ge4_k"] == 1  # mean exactly 4.0 counts
    assert "grader-model" in pooled.grader


def test_left_out_runs_are_counted_not_mixed(runs, tmp_path):
    org = make_organism("fact-d", "false-fact documents")
    other_grader = SimpleNamespace(model="another-grader", identity="http://other/v1", defaults={})
    extra = tmp_path / "run-fact-d"
    write_run(extra, org, "adl", 0, 0, 5, grader=other_grader)
    write_run(extra, org, "adl", 0, 1, 5, grader=other_grader)
    write_run(extra, org, "adl", 0, 2, 5, graded=False)
    write_run(extra, org, "adl", 0, 3, 5, stale=True)
    write_run(extra, org, "adl", 0, 4, None)
    pooled = pool_runs([*runs, extra, runs[0]])  # a directory given twice counts once
    assert len(pooled.records) == 50
    statuses = sorted(r.status for r in pooled.records if r.run_dir == str(extra))
    assert statuses == ["other_grader", "other_grader", "stale", "ungraded", "unknown"]
    row = next(r for r in pooled.rows if (r["type"], r["agent"], r["budget"]) == ("all", "adl", 0))
    assert row["n_runs"] == 15 and row["left_out"] == 5 and row["runs_ge2_k"] == 10
    text = " ".join(pooled.notes)
    assert "2 by another-grader" in text and "5 of 50 runs left out" in text
    assert "1 not graded" in text and "1 the grader gave no readable score" in text
    mixed = pool_runs([*runs, extra], mixed_graders=True)
    row = next(r for r in mixed.rows if (r["type"], r["agent"], r["budget"]) == ("all", "adl", 0))
    assert row["n_runs"] == 17 and row["n_organisms"] == 4 and row["runs_ge4_k"] == 4
    assert "2 graders pooled" in " ".join(mixed.notes)


def test_reads_without_torch(runs):
    code = (
        "import sys; from adlens.agent.pooled import pool_runs; "
        f"p = pool_runs({[str(r) for r in runs]!r}); "
        "assert len(p.records) == 45; assert 'torch' not in sys.modules, 'torch loaded'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_no_agent_results_is_an_error(tmp_path):
    with pytest.raises(AdlensError, match="no agent results"):
        read_run_dir(tmp_path)
    with pytest.raises(AdlensError, match="is no directory"):
        read_run_dir(tmp_path / "missing")


# --------------------------------------------------------------------------- CLI


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_cli_table_terminal_json_markdown_csv(runs, tmp_path):
    result = invoke("agent", "table", *runs)
    assert result.exit_code == 0, result.output
    want = expected("all", "adl", 0, 2)["runs"]
    cell = f"{100 * want[0] / want[1]:.0f}% [{100 * want[2]:.0f}, {100 * want[3]:.0f}]"
    share, ci = cell.split(" [")
    lo_hi = ci.rstrip("]").replace(", ", "-")
    lines = result.output.splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"\s*ADL\s+0\s+15\s", line))
    assert lines[first].split()[3] == share and lines[first + 1].split()[0] == lo_hi
    assert "Wilson" in result.output and "false_fact (2 run directories)" in result.output
    assert "grader-model" in result.output and "warning" not in result.output

    result = invoke("agent", "table", *runs, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runs"]["read"] == 45 and data["runs"]["used"] == 45 and len(data["rows"]) == 9
    assert len(data["records"]) == 45 and "Wilson" in data["measures"]["orgs_*"]

    result = invoke("agent", "table", *runs, "--markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| type | agent | i | runs |") and len(lines[2:11]) == 9
    assert lines[2].startswith(f"| all | ADL | 0 | 15 | {cell} |")

    out = tmp_path / "tables" / "agent.csv"
    result = invoke("agent", "table", *runs, "--csv", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 9 and rows[0]["type"] == "all" and rows[0]["runs_ge2_k"] == "10"
    assert float(rows[0]["runs_ge2_lo"]) == pytest.approx(want[2], abs=1e-9)


def test_cli_table_bad_inputs(runs, tmp_path):
    empty = tmp_path / "empty-run"
    empty.mkdir()
    result = invoke("agent", "table", runs[0], empty)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "no agent results" in lines[0]
    result = invoke("agent", "table", runs[0], "--json", "--markdown")
    assert result.exit_code == 1 and "choose one" in result.output


def test_agent_group_and_its_old_form(tmp_path):
    result = invoke("agent", "--help")
    assert result.exit_code == 0 and "run" in result.output and "table" in result.output
    for args in (["agent", tmp_path, "--help"], ["agent", "run", tmp_path, "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "--black-box-budgets" in result.output and "--preset" in result.output
        assert "paper preset" in result.output
    # the old form runs the command: a bad budget is its one-line error
    result = invoke("agent", tmp_path, "--budgets", "x")
    assert result.exit_code == 1 and "--budgets" in result.output
    result = invoke("agent", "--budgets", "x", tmp_path)  # options first, as before
    assert result.exit_code == 1 and "--budgets" in result.output


def test_presets_plan_the_runs(monkeypatch, tmp_path):
    paper = agent_preset("paper")
    assert {k: v for k, v in paper.items() if k != "settings"} == {
        "budgets": [0, 5],
        "black_box_budgets": [0, 5, 50],
        "repeats": 5,
        "grader_repeats": 3,
    }
    # the reference's answers to the agent's prompts (256 tokens at 0.8) and reply limit
    assert paper["settings"]["model_max_new_tokens"] == 256
    assert paper["settings"]["max_reply_tokens"] == 10_000
    assert agent_preset(None)["repeats"] == 1 and agent_preset(None)["black_box_budgets"] == [0, 5]
    assert set(AGENT_PRESETS) == {"paper", "demo", "fast"}
    with pytest.raises(AdlensError, match="Unknown preset 'nope'"):
        agent_preset("nope")

    import adlens.agent as agent_api

    calls = []
    monkeypatch.setattr(agent_api.RunData, "load", classmethod(lambda cls, path: None))
    monkeypatch.setattr(agent_api, "make_client", lambda *a, **kw: SimpleNamespace(model="m"))
    monkeypatch.setattr(agent_api, "run_agents", lambda run_dir, **kw: calls.append(kw) or [])
    assert invoke("agent", tmp_path, "--preset", "paper").exit_code == 0
    assert invoke("agent", "run", tmp_path).exit_code == 0
    assert invoke("agent", tmp_path, "--preset", "paper", "--repeats", "2").exit_code == 0
    plans = [
        (c["budgets"], c["black_box_budgets"], c["repeats"], c["grader_repeats"]) for c in calls
    ]
    assert plans == [
        ([0, 5], [0, 5, 50], 5, 3),
        ([0, 5], [0, 5], 1, 3),
        ([0, 5], [0, 5, 50], 2, 3),
    ]
    # the preset's agent settings, under the options given
    assert calls[0]["cfg"].max_reply_tokens == 10_000 and calls[0]["cfg"].model_temperature == 0.8
    assert calls[1]["cfg"].max_reply_tokens == 2048 and calls[1]["cfg"].temperature == 0.7
    args = ("--preset", "paper", "--max-reply-tokens", "500", "--temperature", "0.2")
    assert invoke("agent", tmp_path, *args).exit_code == 0
    assert (calls[-1]["cfg"].max_reply_tokens, calls[-1]["cfg"].temperature) == (500, 0.2)
    assert calls[-1]["cfg"].sample_chars == 200
    result = invoke("agent", tmp_path, "--preset", "nope")
    assert result.exit_code == 1 and "Unknown preset 'nope'" in result.output
