"""The agent sees every reader: positional readers per position, pooled and weight readers in
their own section, and the contrastive samples through their own (free) tool."""

from __future__ import annotations

import json

from adlens.agent.config import AgentConfig
from adlens.agent.overview import reader_section
from adlens.agent.rundata import RunData
from adlens.agent.tools import ToolBox
from adlens.results.readings import ALL
from adlens.results.summary import Summary


def _tokens(*words):
    return [{"token": w, "id": i, "prob": 0.1} for i, w in enumerate(words)]


def _data(tmp_path):
    readings = [
        {"reader": "logit_lens", "head": "finetuned", "layer": 3, "position": 1,
         "variant": "diff", "tokens": _tokens(" honey")},
        {"reader": "diffmine", "layer": ALL, "position": ALL, "variant": "diff",
         "tokens": _tokens(" hive", " nectar")},
        {"reader": "weights", "layer": 2, "position": 0, "variant": "diff",
         "singular_value": 1.0, "tokens": _tokens(" wax")},
        {"reader": "weights", "layer": 3, "position": 0, "variant": "diff",
         "singular_value": 5.0, "tokens": _tokens(" pollen")},
    ]  # fmt: skip
    summary = {"layers": [3], "positions": [0, 1], "bos_at_0": True, "readers": readings}
    (tmp_path / "read").mkdir()
    rows = [
        {"prefill": "The", "alpha": 1.0, "text": f"Bees make green honey {i}."} for i in range(4)
    ]
    rows.append({"prefill": "The", "alpha": -1.0, "text": "The base model's own text."})
    (tmp_path / "read" / "contrastive_samples.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    return RunData(tmp_path, Summary.model_validate(summary))


def test_overview_lists_every_reader(tmp_path):
    text = reader_section(_data(tmp_path), k=5)
    position_part, rest = text.split("### Read from the whole text and from the weights")
    assert 'logit lens: " honey"' in position_part and "hive" not in position_part
    assert "wax" not in position_part  # a direction rank is not a token position
    assert 'diff mining: " hive" 0.100, " nectar"' in rest
    # weight directions strongest first, with their layer and rank
    assert rest.index("pollen") < rest.index("wax") and "(layer 3, direction 0)" in rest


def test_contrastive_samples_tool_shows_new_samples_each_call(tmp_path):
    box = ToolBox(_data(tmp_path), "adl", AgentConfig())
    assert "contrastive_samples" in [t.name for t in box.offered()]
    first = box.execute("contrastive_samples", {"n": 3})
    assert first.result.count("green honey") == 3 and first.cost == 0
    second = box.execute("contrastive_samples", {"n": 3})
    assert second.result.count("green honey") == 1 and "base model" not in second.result
    third = box.execute("contrastive_samples", {})
    assert third.error and "all 4" in third.result
