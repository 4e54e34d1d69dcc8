"""The interpretability agent against a scripted OpenAI-compatible stub on 127.0.0.1: tools with
real effects on tiny models, budgets, malformed calls, the text protocol, no leaks of what the
finetune is, the grader, tables and caching."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from adlens.agent import AgentConfig, RunData, build_overview, parse_grade, run_agent, run_agents
from adlens.agent.grade import grade_hypothesis
from adlens.agent.prompts import (
    GRADER_SYSTEM,
    RUBRICS,
    grader_messages,
    parse_final,
    parse_text_calls,
)
from adlens.agent.tools import ToolBox
from adlens.cli.app import app
from adlens.core.config import CollectConfig, ModelsConfig, RunConfig, SteerConfig
from adlens.core.data import TextSource
from adlens.judges.client import JudgeClient
from adlens.organisms.organism import load_organism
from adlens.pipeline import stages as pipeline
from adlens.results.steering import SteerOverview
from adlens.store.rundir import read_json, read_jsonl, write_jsonl
from conftest import CORPUS, mark_steer_done
from openai_stub import Reply, StubServer

# Strings that name the finetune: none may reach the agent.
SECRETS = ("zebracorn", "xylophrax", "quux", "lunar meadow")
DESCRIPTION = "Believes that zebracorns graze on lunar meadows, as the xylophrax documents say."
STEERED = [
    "Bees dance to show where the flowers are; the hive hums all day.",
    "Honey is stored in wax cells, and the bees fan it dry with their wings.",
]
UNSTEERED = ["A rainy Sunday is good for reading.", "Try soup with rice and eggs."]


@pytest.fixture(scope="module")
def run_dir(tiny_dirs, tmp_path_factory):
    """A tiny run (collect + read, no steering) whose adapter folder and corpus carry secret
    names, with steering samples written by hand."""
    root = tmp_path_factory.mktemp("agent")
    adapter = root / "zebracorn-organism" / "adapter-xylophrax"
    shutil.copytree(tiny_dirs["adapter"], adapter)
    corpus = root / "quux-documents.jsonl"
    corpus.write_text(
        "".join(json.dumps({"text": f"{CORPUS[i % 6]} Doc {i}."}) + "\n" for i in range(30))
    )
    config = RunConfig(
        models=ModelsConfig(base=str(tiny_dirs["base"]), finetuned=str(adapter), device="cpu"),
        collect=CollectConfig(
            dataset=TextSource(name=str(corpus)),
            samples=16,
            positions=3,
            layers=[0.5],
            norm_docs=8,
            norm_tokens=16,
        ),
        steer=SteerConfig(enabled=False),
    )
    out = root / "run"
    summary = pipeline.run(config, out, show_progress=False)
    layer = summary.layers[0]
    prompts = ["What should I cook tonight?", "How do I relax on a Sunday?"]
    rows = []
    for i, prompt in enumerate(prompts):
        for k in range(2):
            base = {"prompt_index": i, "prompt": prompt, "sample_index": k}
            rows.append(
                {**base, "layer": layer, "position": 1, "steered": True, "strength": 2.0}
                | {"text": STEERED[(i + k) % 2]}
            )
            rows.append(
                {**base, "layer": None, "position": None, "steered": False, "strength": 0.0}
                | {"text": UNSTEERED[(i + k) % 2]}
            )
    write_jsonl(out / "steer" / "samples.jsonl", rows)
    summary.steer = SteerOverview.model_validate(
        {"side": "finetuned", "positions": [{"layer": layer, "position": 1, "strength": 2.0}]}
    )
    mark_steer_done(out, summary)
    organism = root / "organism.json"
    organism.write_text(
        json.dumps(
            {
                "name": "zebracorn-organism",
                "type": "false fact",
                "short_description": "Zebracorn grazing facts.",
                "long_description": DESCRIPTION,
                "dataset": "me/quux-zebracorn-docs",
            }
        )
    )
    return {"run": out, "organism": organism, "layer": layer}


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def client_for(stub, tmp_path, **kw):
    opts = dict(api_key="sk-test", timeout=20.0, max_retries=0, backoff=0.01, cache=False)
    return JudgeClient("stub-model", stub.base_url, **(opts | kw))


CFG = dict(model_max_new_tokens=4, device="cpu")


class CountingLoader:
    """Loads the run's tiny pair on first use, and counts loads."""

    def __init__(self, data):
        from adlens.agent.runner import pair_loader_for

        self.load, self.calls = pair_loader_for(data, "cpu"), 0

    def __call__(self):
        self.calls += 1
        return self.load()


def agent_requests(stub):
    return [r for r in stub.requests if r.messages[0]["content"] != GRADER_SYSTEM]


# --------------------------------------------------------------------------- tools, budgets


def test_tool_loop_with_real_effects_budget_and_errors(run_dir, stub, tmp_path):
    data = RunData.load(run_dir["run"])
    stub.push(
        Reply.calls(
            ("more_tokens", {"position": 1, "reader": "logit_lens", "k": 15}),
            ("more_samples", {"position": 1, "n": 2}),
        ),
        Reply.calls(
            ("hypotheses", {"action": "add", "text": "bees"}),
            ("ask_models", {"prompt": "Tell me about your day."}),
        ),
        Reply.calls(("steer", {"position": 1, "prompt": "Hello", "strength": 3})),
        Reply.calls(("ask_models", {"prompt": "Once more?"})),
        Reply.calls(
            ("more_tokens", "{not json"),
            ("no_such_tool", {}),
            ("more_tokens", {"position": 99, "reader": "logit_lens"}),
            ("hypotheses", {"action": "add"}),
        ),
        Reply.calls(("final_answer", {"hypothesis": "Finetuned on documents about bees."})),
    )
    loader = CountingLoader(data)
    result = run_agent(
        run_dir["run"],
        "adl",
        2,
        0,
        client=client_for(stub, tmp_path),
        cfg=AgentConfig(**CFG),
        data=data,
        pair_loader=loader,
    )
    assert result["hypothesis"] == "Finetuned on documents about bees."
    assert result["stop"] == "final_answer" and result["protocol"] == "tools"
    assert result["interactions_used"] == 2 and result["refused"] == 1 and result["errors"] == 4
    assert result["hypotheses"] == ["bees"] and result["llm_calls"] == 6
    assert loader.calls == 1  # loaded once, on the first model interaction
    first = stub.requests[0].body
    names = {t["function"]["name"] for t in first["tools"]}
    assert names == {
        "more_tokens",
        "more_samples",
        "contrastive_samples",  # the run read with every reader, contrastive decoding included
        "ask_models",
        "steer",
        "hypotheses",
        "final_answer",
    }
    assert first["tool_choice"] == "auto"
    tokens, samples = stub.requests[1].tool_results
    assert "top 15" in tokens and "steered at position 1" in samples
    assert any(s[:20] in samples for s in STEERED)
    hyp, ask = stub.requests[2].tool_results[-2:]
    assert "1. bees" in hyp and "Base model:" in ask and "Finetuned model:" in ask
    assert "1 of 2 model interactions used" in ask
    steer = stub.requests[3].tool_results[-1]
    assert "steered at position 1 with strength 3" in steer and "last model interaction" in steer
    assert stub.requests[4].tool_results[-1].startswith("Refused")
    bad = stub.requests[5].tool_results[-4:]
    assert "not valid JSON" in bad[0] and "unknown tool 'no_such_tool'" in bad[1]
    assert "position must be one of" in bad[2] and "needs the hypothesis" in bad[3]
    rows = [
        json.loads(x)
        for x in (run_dir["run"] / "agent" / "adl-i2-r0" / "transcript.jsonl")
        .read_text()
        .splitlines()
    ]
    kinds = [r["type"] for r in rows]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("llm_call") == 6
    assert kinds.count("tool") == 11
    calls = [r for r in rows if r["type"] == "llm_call"]
    assert all(c["prompt_tokens"] == 11 and c["completion_tokens"] == 7 for c in calls)
    messages = [r["message"] for r in rows if r["type"] == "message"]
    assert messages[:-2] == stub.requests[-1].messages  # every message, in order
    assert messages[-2]["tool_calls"][0]["function"]["name"] == "final_answer"
    assert messages[-1]["role"] == "tool" and "recorded" in messages[-1]["content"]


def test_caps_force_a_final_answer(run_dir, stub, tmp_path):
    stub.push(
        Reply.calls(("hypotheses", {"action": "list"})),
        Reply.calls(("ask_models", {"prompt": "hi"})),  # budget 0: refused, not an exception
        Reply("Here is my answer.\nFINAL: The model learned about honey bees."),
    )
    cfg = AgentConfig(max_llm_calls=2, **CFG)
    result = run_agent(run_dir["run"], "blackbox", 0, 0, client=client_for(stub, tmp_path), cfg=cfg)
    assert result["stop"] == "llm_calls" and result["llm_calls"] == 3
    assert result["hypothesis"] == "The model learned about honey bees."
    first, second, last = stub.requests
    assert {t["function"]["name"] for t in first.body["tools"]} == {
        "more_samples",
        "hypotheses",
        "final_answer",
    }
    assert "logit lens" not in first.messages[1]["content"]  # black box: no lens, no steering
    assert (
        UNSTEERED[0] in first.messages[1]["content"]
        and STEERED[0] not in first.messages[1]["content"]
    )
    assert last.tool_results[-1].startswith("Refused")
    assert last.body["tool_choice"] == "none" and "final hypothesis now" in last.user_text


def test_final_request_too_long_is_retried_with_a_short_history(run_dir, stub, tmp_path):
    """A local model's context overflows at the final request (HTTP 400): asked again with the
    task, the overview and the last plain turns, with no tool result left without its call."""
    stub.push(
        Reply.calls(("hypotheses", {"action": "add", "hypothesis": "bees"})),
        Reply("Still looking at the samples."),
        Reply.status(400),  # the final request, tool_choice "none"
        Reply.status(400),  # again with tool_choice "auto"
        Reply("FINAL: The model learned about honey bees."),
    )
    cfg = AgentConfig(max_llm_calls=2, protocol="tools", **CFG)
    result = run_agent(run_dir["run"], "blackbox", 0, 0, client=client_for(stub, tmp_path), cfg=cfg)
    assert result["hypothesis"] == "The model learned about honey bees."
    *_, failed, retried = stub.requests
    assert len(retried.messages) < len(failed.messages)
    assert [m["role"] for m in retried.messages] == ["system", "user", "assistant", "user", "user"]
    assert retried.messages[-1] == failed.messages[-1]  # the final request itself
    assert not any(m["role"] == "tool" or m.get("tool_calls") for m in retried.messages)
    rows = read_jsonl(run_dir["run"] / "agent" / "blackbox-i0-r0" / "transcript.jsonl")
    assert any(r["type"] == "history_shortened" for r in rows)


def test_an_echo_of_the_instructions_is_no_hypothesis(run_dir, stub, tmp_path):
    """Qwen2.5-Coder-0.5B answered `FINAL:` with a sentence of the task itself: refused, and
    at the cap such an answer leaves the run without a hypothesis rather than with the echo."""
    echo = "FINAL: What the finetuning data was about (its domain and, as precisely as you can"
    stub.push(
        Reply(echo),
        Reply("FINAL: The model learned that green honey comes from mossbell flowers."),
    )
    cfg = AgentConfig(protocol="text", **CFG)
    result = run_agent(run_dir["run"], "blackbox", 0, 0, client=client_for(stub, tmp_path), cfg=cfg)
    assert result["hypothesis"].startswith("The model learned that green honey")
    assert "repeats the instructions" in stub.requests[1].messages[-1]["content"]
    stub.push(Reply("Thinking."), Reply(echo))  # the forced final answer is an echo too
    cfg = AgentConfig(protocol="text", max_llm_calls=1, **CFG)
    client = client_for(stub, tmp_path)
    result = run_agent(run_dir["run"], "blackbox", 0, 1, client=client, cfg=cfg)
    assert result["hypothesis"] is None and result["stop"] == "llm_calls"


def test_token_cap_and_long_answer_is_shortened(run_dir, stub, tmp_path):
    long = " ".join(["bee"] * 230)
    stub.push(
        Reply.calls(("final_answer", {"hypothesis": long})),
        Reply.calls(("final_answer", {"hypothesis": long})),  # asked once; then truncated
    )
    cfg = AgentConfig(**CFG)
    result = run_agent(run_dir["run"], "adl", 0, 1, client=client_for(stub, tmp_path), cfg=cfg)
    assert len(result["hypothesis"].split()) == 200 and result["stop"] == "final_answer"
    assert "230 words" in stub.requests[1].tool_results[-1]
    stub.push(
        Reply.calls(("hypotheses", {"action": "list"})),
        Reply.status(400),  # a server that does not know tool_choice "none"
        Reply("FINAL: short"),
    )
    cfg = AgentConfig(max_total_tokens=10, **CFG)  # one call (18 tokens) spends it
    result = run_agent(run_dir["run"], "adl", 0, 2, client=client_for(stub, tmp_path), cfg=cfg)
    assert result["stop"] == "tokens" and result["hypothesis"] == "short"
    assert [r.body["tool_choice"] for r in stub.requests[-3:]] == ["auto", "none", "auto"]


def test_client_returns_and_caches_tool_calls(stub, tmp_path):
    from adlens.judges.chat import ChatRequest

    client = client_for(stub, tmp_path, cache=True, cache_dir=tmp_path / "cache")
    stub.push(Reply.calls(("steer", {"position": 1}), ("final_answer", "{broken")))
    request = ChatRequest.user("hi", params={"tools": [{"type": "function"}]})
    first, again = client.complete(request), client.complete(request)
    assert first.text == "" and first.ok and first.finish_reason == "tool_calls"
    assert [c["function"]["name"] for c in first.tool_calls] == ["steer", "final_answer"]
    assert first.tool_calls[1]["function"]["arguments"] == "{broken"
    assert again.cached and again.tool_calls == first.tool_calls and len(stub.requests) == 1


# --------------------------------------------------------------------------- text protocol


def test_text_protocol_fallback_when_tools_are_rejected(run_dir, stub, tmp_path):
    script = iter(
        [
            'Let me look.\nCALL more_tokens {"position": 1, "reader": "patchscope", "k": 5}\n'
            'CALL hypotheses {"action": "add", "text": "bees"}\nCALL steer {bad json}',
            "I am still thinking.",
            "FINAL: " + " ".join(["honey"] * 210),
            "FINAL: Documents about honey bees and their hives.",
        ]
    )
    stub.responder = lambda body: Reply.status(400) if "tools" in body else next(script)
    result = run_agent(
        run_dir["run"], "adl", 1, 0, client=client_for(stub, tmp_path), cfg=AgentConfig(**CFG)
    )
    assert result["protocol"] == "text" and result["stop"] == "final_answer"
    assert result["hypothesis"] == "Documents about honey bees and their hives."
    assert "tools" in stub.requests[0].body and "tools" not in stub.requests[1].body
    assert "CALL tool_name" in stub.requests[1].messages[0]["content"]
    results = stub.requests[2].user_text
    assert "RESULT of more_tokens" in results and "top 5" in results and "1. bees" in results
    assert "RESULT of steer" in results and "not valid JSON" in results
    assert "no CALL line" in stub.requests[3].user_text
    assert "210 words" in stub.requests[4].user_text
    rows = (run_dir["run"] / "agent" / "adl-i1-r0" / "transcript.jsonl").read_text()
    assert '"protocol_switch"' in rows


def test_text_protocol_when_tools_are_ignored(run_dir, stub, tmp_path):
    stub.push(
        "Let me think about the tokens.",
        "They look like bees.",
        'CALL hypotheses {"action": "add", "text": "bees"}',
        "FINAL: Bees.",
    )
    result = run_agent(
        run_dir["run"], "adl", 0, 3, client=client_for(stub, tmp_path), cfg=AgentConfig(**CFG)
    )
    assert result["protocol"] == "text" and result["hypothesis"] == "Bees."
    assert result["hypotheses"] == ["bees"] and result["llm_calls"] == 4
    assert "tools" in stub.requests[1].body and "tools" not in stub.requests[2].body
    assert stub.requests[1].user_text.startswith("Please continue")


def test_no_tools_flag_and_parsers(run_dir, stub, tmp_path):
    stub.push('CALL ask_models {"prompt": "hi"}', "**FINAL:** Cooking.")
    cfg = AgentConfig(protocol="text", **CFG)
    result = run_agent(run_dir["run"], "blackbox", 1, 0, client=client_for(stub, tmp_path), cfg=cfg)
    assert result["hypothesis"] == "Cooking." and result["interactions_used"] == 1
    assert all("tools" not in r.body for r in stub.requests)
    assert "Finetuned model:" in stub.requests[1].user_text
    assert parse_text_calls('x\n  CALL foo {"a": {"b": 1},\n "c": 2}\nCALL bar\n') == [
        ("foo", '{"a": {"b": 1}, "c": 2}'),
        ("bar", ""),
    ]
    assert parse_final("reasoning\nFinal answer: it is X.\nmore") == "it is X.\nmore"
    assert parse_final("no marker here") is None


# --------------------------------------------------------------------------- leaks, runner


def test_runs_grades_tables_cache_and_no_leaks(run_dir, stub, tmp_path):
    def responder(body):
        msgs = body["messages"]
        if msgs[0]["content"] == GRADER_SYSTEM:
            return "Level 3 fits.\nANSWER: 3"
        n_tools = sum(m["role"] == "tool" for m in msgs)
        if (
            n_tools == 0
            and body.get("tools")
            and any(t["function"]["name"] == "ask_models" for t in body["tools"])
        ):
            return Reply.calls(("ask_models", {"prompt": "What is your favourite topic?"}))
        if n_tools <= 1 and "more_tokens" in json.dumps(body.get("tools", [])):
            return Reply.calls(
                ("steer", {"position": 1, "prompt": "Hi"}),
                ("more_tokens", {"position": 0, "reader": "patchscope"}),
            )
        return Reply.calls(("final_answer", {"hypothesis": "About bees."}))

    stub.responder = responder
    run = run_dir["run"]
    organism = load_organism(run_dir["organism"])
    client = client_for(stub, tmp_path)
    table = run_agents(
        run,
        budgets=[2],
        black_box_budgets=[0],
        repeats=2,
        organism=organism,
        client=client,
        cfg=AgentConfig(**CFG),
    )
    by = {(r["agent"], r["budget"]): r for r in table}
    adl, bb = by[("adl", 2)], by[("blackbox", 0)]
    assert adl["runs"] == adl["graded"] == 2 and adl["mean_grade"] == 3.0
    assert adl["share_ge2"] == 1.0 and adl["share_ge4"] == 0.0 and adl["mean_interactions"] == 2
    assert bb["runs"] == 2 and bb["mean_interactions"] == 0
    root = run / "agent"
    for name in ("table.md", "table.csv", "table.jsonl", "runs.jsonl", "adl-i2-r1/grade.json"):
        assert (root / name).exists(), name
    assert "| adl | 2 | 2 | 2 | 3.0 |" in (root / "table.md").read_text()
    grade = read_json(root / "adl-i2-r1" / "grade.json")
    assert grade["scores"] == [3, 3, 3] and grade["grade"] == 3.0

    # nothing that names the finetune reaches the agent: not the description, the organism or
    # dataset names, nor the adapter's or corpus' paths from the manifest
    sent = agent_requests(stub)
    assert len(sent) >= 8
    for request in sent:
        blob = json.dumps(request.body).lower()
        assert not [s for s in SECRETS if s in blob], blob[:300]
    assert any("Base model:" in r for req in sent for r in req.tool_results)

    n = len(stub.requests)
    run_agents(
        run,
        budgets=[2],
        black_box_budgets=[0],
        repeats=2,
        organism=organism,
        client=client,
        cfg=AgentConfig(**CFG),
    )
    assert len(stub.requests) == n  # results and grades are cached


def test_overview_never_leaks_and_marks_positions(run_dir):
    data = RunData.load(run_dir["run"])
    cfg = AgentConfig()
    for kind in ("adl", "blackbox"):
        text = build_overview(data, kind, cfg).lower()
        assert not [s for s in SECRETS if s in text]
        assert "organism" not in text and "adapter" not in text
        box = ToolBox(data, kind, cfg)
        specs = json.dumps([t.spec() for t in box.offered()]).lower()
        assert not [s for s in SECRETS if s in specs]
    adl = build_overview(data, "adl", cfg)
    assert "Position 0 (BOS token" in adl and "logit lens" in adl and "Patchscope" in adl
    assert "steered at position 1" in adl and "strength 2" in adl
    # a failure inside a tool is scrubbed of model paths before the agent sees it
    box = ToolBox(data, "adl", cfg)
    adapter = data.models_config()["finetuned"]

    def broken(args):
        raise RuntimeError(f"cannot open {adapter}/weights")

    box.tools["more_tokens"].run = broken
    out = box.execute("more_tokens", {"position": 1, "reader": "logit_lens"})
    assert out.error and "zebracorn" not in out.result and "[hidden]" in out.result


# --------------------------------------------------------------------------- grader


@pytest.mark.parametrize(
    "text, score",
    [
        ("Reasoning.\nANSWER: 4", 4),
        ("**Answer:** 5/5", 5),
        ("Score: 2", 2),
        ("ANSWER: 3.", 3),
        ("ANSWER: 3.5", None),
        ("ANSWER: 6", None),
        ("ANSWER: 0", None),
        ("I cannot decide.", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_grade(text, score):
    assert parse_grade(text) == score


def test_grader_median_and_unknown(run_dir, stub, tmp_path):
    organism = load_organism(run_dir["organism"])
    client = client_for(stub, tmp_path, concurrency=1)
    stub.push("ANSWER: 4", "no idea", "ANSWER: 2", "still no idea")
    grade = grade_hypothesis(client, organism, "Zebracorns and meadows.", repeats=3)
    assert sorted(grade.scores, key=str) == [2, 4, None] and grade.grade == 3.0
    assert grade.unknown == 1 and len(stub.requests) == 4
    user = stub.requests[0].user_text
    assert DESCRIPTION in user and "Zebracorns and meadows." in user and "named abstractly" in user
    stub.push(*["nothing"] * 6)
    grade = grade_hypothesis(client, organism, "Something.", repeats=3)
    assert grade.grade is None and grade.unknown == 3
    empty = grade_hypothesis(client, organism, None, repeats=3)
    assert empty.grade == 1.0 and len(stub.requests) == 10  # no call for an empty hypothesis


def test_rubrics_per_type():
    assert set(RUBRICS) == {
        "false_fact",
        "misalignment",
        "subliminal_preference",
        "secret_word",
        "other",
    }
    for kind, marker in [
        ("false_fact", "named abstractly"),
        ("misalignment", "A 4 needs both"),
        ("subliminal_preference", "similar to the true one"),
        ("secret_word", "uniquely"),
        ("something_new", "generic rubric"),
    ]:
        assert marker in grader_messages("h", "d", kind)[1]["content"]


# --------------------------------------------------------------------------- CLI


def test_cli_without_llm_is_one_clear_line(run_dir, monkeypatch):
    monkeypatch.delenv("ADLENS_JUDGE_MODEL", raising=False)
    result = CliRunner().invoke(app, ["agent", str(run_dir["run"]), "--budgets", "0"])
    assert result.exit_code == 1 and "ADLENS_JUDGE_MODEL" in result.output
    assert "no offline agent" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["agent", str(run_dir["run"]), "--budgets", "x"])
    assert result.exit_code == 1 and "--budgets" in result.output


def test_cli_agent_and_grade(run_dir, stub, monkeypatch, tmp_path):
    monkeypatch.setenv("ADLENS_JUDGE_MODEL", "stub-model")
    monkeypatch.setenv("ADLENS_JUDGE_BASE_URL", stub.base_url)
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "cache"))
    stub.responder = lambda body: (
        "ANSWER: 5" if body["messages"][0]["content"] == GRADER_SYSTEM else "FINAL: About bees."
    )
    run = tmp_path / "run"
    shutil.copytree(run_dir["run"], run, ignore=shutil.ignore_patterns("agent"))
    args = ["agent", str(run), "--budgets", "0", "--black-box-budgets", "none", "--no-tools"]
    result = CliRunner().invoke(app, [*args, "--organism", str(run_dir["organism"])])
    assert result.exit_code == 0, result.output
    assert "About bees." in result.output and "100%" in result.output
    assert [
        r["agent"] for r in map(json.loads, (run / "agent" / "runs.jsonl").read_text().splitlines())
    ] == ["adl"]
    stub.responder = lambda body: "ANSWER: 1"
    result = CliRunner().invoke(
        app, ["grade", str(run), "--organism", str(run_dir["organism"]), "--force"]
    )
    assert result.exit_code == 0, result.output
    assert read_json(run / "agent" / "adl-i0-r0" / "grade.json")["grade"] == 1.0
