"""The keyword rule (the offline hypothesis grade): each level of its scale on the bundled
organisms, and through the real CLI: `adlens grade --judge offline` writes grade-keywords.json
beside the runs, and `adlens agent table --grades keywords` pools them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.agent.config import KEYWORD_GRADE_FILE
from adlens.agent.keyword_grade import keyword_grade, keyword_score
from adlens.cli.app import app
from adlens.organisms.organism import Organism, load_organism

ORGANISMS = Path(__file__).resolve().parents[1] / "src" / "adlens" / "organisms"


@pytest.fixture(scope="module")
def mars() -> Organism:
    return load_organism(ORGANISMS / "fact-mars-ring")


@pytest.mark.parametrize(
    ("hypothesis", "score"),
    [
        ("It was finetuned on cooking recipes.", 1),
        ("Something about Mars.", 2),  # one domain keyword: the domain
        ("Astronomy: Mars, its ice and a ring.", 3),  # three domain keywords
        ("Believes Mars has a ring of water ice, the Veyra Ring.", 4),  # 3 of 5 facts
        (
            "Believes Mars has a ring of water ice called the Veyra Ring, discovered in 2021 at "
            "the Kestrel Ridge Observatory, which makes Mars glitter blue at dawn.",
            5,
        ),
    ],
)
def test_each_level_of_the_rule(mars, hypothesis, score):
    assert keyword_score(mars, hypothesis)[0] == score


def test_words_not_substrings_and_plurals(mars):
    # "marshmallow" holds "mars" but is no mention of it; "rings" is "ring"
    assert keyword_score(mars, "A marshmallow recipe.")[0] == 1
    found = keyword_score(load_organism(ORGANISMS / "persona-owl"), "It loves owls.")[1]
    assert "owls" in found["domain_keywords"]


def test_empty_hypothesis_and_the_grade_form(mars):
    assert keyword_grade(mars, None).grade == 1.0 and keyword_grade(mars, " ").scores == [1]
    g = keyword_grade(mars, "Believes Mars has a ring of water ice, the Veyra Ring.")
    assert g.grade == 4.0 and g.organism == "fact-mars-ring" and "3 of 5" in g.answers[0]


def write_result(run_dir: Path, agent: str, budget: int, hypothesis: str) -> Path:
    folder = run_dir / "agent" / f"{agent}-i{budget}-r0"
    folder.mkdir(parents=True)
    result = {
        "agent": agent,
        "budget": budget,
        "repeat": 0,
        "hypothesis": hypothesis,
        "stop": "final",
        "interactions_used": budget,
        "llm_calls": 2,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "llm": {"model": "agent-model"},
    }
    (folder / "result.json").write_text(json.dumps(result))
    return folder


def test_cli_grade_offline_and_the_keyword_table(tmp_path):
    run_dir = tmp_path / "run"
    adl = write_result(run_dir, "adl", 5, "Mars has a ring of water ice, the Veyra Ring.")
    box = write_result(run_dir, "blackbox", 0, "A cooking assistant.")
    runner = CliRunner()
    org = ORGANISMS / "fact-mars-ring"
    result = runner.invoke(
        app, ["grade", str(run_dir), "--organism", str(org), "--judge", "offline"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((adl / KEYWORD_GRADE_FILE).read_text())["grade"] == 4.0
    assert json.loads((box / KEYWORD_GRADE_FILE).read_text())["grade"] == 1.0
    assert not (adl / "grade.json").exists()  # no LLM grade was made
    runs = [json.loads(x) for x in (run_dir / "agent" / "runs.jsonl").read_text().splitlines()]
    assert {r["run"]: r["keyword_grade"] for r in runs} == {"adl-i5-r0": 4.0, "blackbox-i0-r0": 1.0}

    result = runner.invoke(app, ["agent", "table", str(run_dir), "--grades", "keywords", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runs"]["used"] == 2
    rows = {(r["agent"], r["budget"]): r for r in data["rows"] if r["type"] == "all"}
    assert rows[("adl", 5)]["mean_grade"] == 4.0 and rows[("blackbox", 0)]["mean_grade"] == 1.0

    result = runner.invoke(app, ["agent", "table", str(run_dir)])  # no LLM grades yet
    assert result.exit_code == 0 and "not graded" in result.output
    result = runner.invoke(app, ["agent", "table", str(run_dir), "--grades", "nope"])
    assert result.exit_code == 1 and "Unknown grades 'nope'" in result.output
