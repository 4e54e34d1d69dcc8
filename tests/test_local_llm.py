"""Integration: the real llama.cpp server (llama-cpp-python) serving SmolLM2-135M-Instruct on
127.0.0.1, started and stopped by adlens. Every judge and a 5-interaction agent run talk to it on
a small run of the demo organism, end to end through the CLI.

A 135M model often misses the answer format: these tests check that the pipeline still finishes,
with UNKNOWNs counted apart and never as verdicts, not that the small model judges well.

Skipped without llama-cpp-python, unless ADLENS_REQUIRE_LOCAL_LLM=1 (`make test` sets it), which
turns the skip into a failure so that CI cannot pass without these tests."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.agent import parse_grade
from adlens.cli.app import app
from adlens.core.config import (
    CollectConfig,
    JudgeConfig,
    ModelsConfig,
    ReadConfig,
    RunConfig,
    SteerConfig,
)
from adlens.core.data import TextSource
from adlens.core.presets import preset
from adlens.errors import AdlensError
from adlens.judges import JudgeClient, LLMCoherenceJudge, local_llm
from adlens.judges.prompts import parse_coherence
from adlens.judges.schemas import GRADE, read_answer
from adlens.store.rundir import read_json, read_jsonl
from adlens.studies.demo import DEMO_ORGANISM

ORGANISM = DEMO_ORGANISM / "organism.json"
SCALES = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]


def _require_server_parts() -> Path:
    """The SmolLM2 asset folder; skip (or fail, in CI) when a part is missing."""
    missing = []
    if not local_llm.installed():
        missing.append(f"llama-cpp-python ({local_llm.INSTALL_HINT})")
    from adlens.store.asset_cache import cache_dir

    base = cache_dir() / "models" / "smollm2-135m-instruct"
    if not (base / "config.json").exists():
        missing.append("the SmolLM2 asset (`adlens assets`)")
    if missing:
        message = "local LLM tests need " + " and ".join(missing)
        if os.environ.get("ADLENS_REQUIRE_LOCAL_LLM"):
            pytest.fail(message)
        pytest.skip(message)
    return base


@pytest.fixture(scope="module")
def base_model() -> Path:
    return _require_server_parts()


@pytest.fixture(scope="module")
def server(base_model, tmp_path_factory):
    """One server for the module, on its own state file (a user's server is never touched);
    `--judge local` finds it through ADLENS_LLM_STATE. Stopped also when a test fails."""
    state = tmp_path_factory.mktemp("llm") / "server.json"
    patch = pytest.MonkeyPatch()
    patch.setenv("ADLENS_LLM_STATE", str(state))
    try:
        with local_llm.serve("smollm2", state=state, n_ctx=8192) as srv:
            yield srv
    finally:
        patch.undo()
    assert not srv.alive(), "the server outlived its fixture"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


# --------------------------------------------------------------------------- lifecycle


def test_start_status_stop_through_the_cli(base_model, tmp_path, monkeypatch):
    monkeypatch.setenv("ADLENS_LLM_STATE", str(tmp_path / "server.json"))
    out = invoke("llm", "start")
    assert "ADLENS_JUDGE_BASE_URL=http://127.0.0.1:" in out
    state = json.loads(CliRunner().invoke(app, ["llm", "status", "--json"]).output)
    try:
        assert state["running"] and state["answers"] and state["port"] > 0
        server = local_llm.read_state()
        assert server is not None and server.alive() and server.answers()
        # a second start refuses, and says how to stop the first
        again = CliRunner().invoke(app, ["llm", "start"])
        assert again.exit_code == 1 and "already running" in again.output
        assert "Traceback" not in again.output
    finally:
        assert "stopped" in invoke("llm", "stop")
    deadline = time.monotonic() + 10
    while server.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.alive() and not server.answers(timeout=0.5)
    assert CliRunner().invoke(app, ["llm", "status"]).exit_code == 1
    assert "no local LLM server was running" in invoke("llm", "stop")


def test_bad_inputs_are_one_line(base_model, tmp_path, monkeypatch):
    monkeypatch.setenv("ADLENS_LLM_STATE", str(tmp_path / "server.json"))
    for args, needle in [
        (["llm", "start", "--model", str(tmp_path / "nope.gguf")], "neither a .gguf file"),
        (["llm", "start", "--model", "gpt-5"], "neither a .gguf file"),
    ]:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and needle in result.output, result.output
        assert "Traceback" not in result.output
    # --judge local with no server: one line naming the command to run
    result = CliRunner().invoke(
        app, ["grade", str(tmp_path), "--organism", str(ORGANISM), "--judge", "local"]
    )
    assert result.exit_code == 1 and "adlens llm start" in result.output, result.output
    with pytest.raises(AdlensError, match="no local LLM server"):
        local_llm.running()


def test_port_given_and_taken(base_model, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(AdlensError, match="taken|exited"):
            local_llm.start(port=port, state=tmp_path / "s.json", wait_s=60)
    assert local_llm.read_state(tmp_path / "s.json") is None


def test_a_dead_server_gives_unknowns_not_verdicts(base_model, tmp_path):
    state = tmp_path / "server.json"
    with local_llm.serve("smollm2", state=state) as srv:
        client = JudgeClient(
            srv.model,
            srv.base_url,
            max_retries=1,
            backoff=0.01,
            cache=False,
            max_tokens=64,
            structured_output="off",  # the text protocol: the answer below is parsed as text
        )
        judge = LLMCoherenceJudge(client)
        before = judge.judge_coherence(["Hi"], ["Hello! How can I help you today?"])
        assert client.stats()["failures"] == 0  # it answered (parsed or UNKNOWN)
        answered = judge.last_answers
        os.killpg(srv.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while srv.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        after = judge.judge_coherence(["Hi", "Hey"], ["Hello there.", "Good day."])
    assert after == [None, None]  # UNKNOWN, not INCOHERENT
    stats = client.stats()
    assert stats["failures"] == 2 and stats["retries"] >= 2
    # the verdict before the kill is the live server's answer, parsed (None: unreadable)
    assert [a.ok for a in answered] == [True] and before == [parse_coherence(answered[0].text)]
    assert local_llm.read_state(state) is None


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def local_run(server, base_model, tmp_path_factory):
    """`adlens run --judge local` (the LLM tournament picks the Patchscope scales), then, on the
    same collect and read, a tiny steering stage whose coherence verdicts come from the local
    LLM (through the API: the CLI's steering settings are far larger)."""
    out = tmp_path_factory.mktemp("local-run") / "run"
    args = ["--base", base_model, "--finetuned", DEMO_ORGANISM, "--dataset", "brown"]
    args += ["--preset", "fast", "--samples", "32", "--positions", "2", "--device", "cpu"]
    # six scales: one tournament group per list (the reference grid of 30 makes four calls)
    args += ["--scales", ",".join(str(s) for s in SCALES)]
    invoke("run", *args, "--dtype", "float32", "--judge", "local", "--out", out)
    activations = out / "collect" / "activations.safetensors"
    read_done = read_json(out / "read" / "done.json")
    config = RunConfig(
        models=ModelsConfig(
            base=str(base_model), finetuned=str(DEMO_ORGANISM), dtype="float32", device="cpu"
        ),
        collect=CollectConfig(
            dataset=TextSource(name="brown", seed=42),
            batch_size=256,
            **(preset("fast") | {"documents": 32, "positions": 2}),
        ),
        read=ReadConfig(scales=SCALES),
        judge=JudgeConfig(backend="local"),
        steer=SteerConfig(
            enabled=True,
            positions=[1],
            search_prompts=["Tell me about your weekend."],
            first_steps=3,
            other_steps=0,
            search_samples=2,
            levels_per_round=1,
            installments=1,
            search_max_new_tokens=24,
            prompts=["What should I cook tonight?", "How do I fix a flat tyre?"],
            samples_per_prompt=2,
            final_max_new_tokens=32,
        ),
    )
    from adlens.pipeline.stages import run

    mtime = activations.stat().st_mtime_ns
    summary = run(config, out, show_progress=False)
    # collect and read were reused: the API's JudgeConfig(backend="local") and the CLI's
    # --judge local give the same judge identity, whatever port the server has
    assert activations.stat().st_mtime_ns == mtime
    assert read_json(out / "read" / "done.json") == read_done
    return {"run": out, "summary": summary}


def test_run_and_steer_with_the_local_judge(local_run, server):
    summary = local_run["summary"]
    assert summary.scale_chooser == "llm-tournament"
    assert summary.steer is not None and server.model in (summary.steer.judges or "")
    calls = read_jsonl(local_run["run"] / "judges" / "calls.jsonl")
    tags = {c["tag"] for c in calls}
    assert "tournament" in tags and any(t.startswith("coherence") for t in tags), tags
    assert all(c["base_url"] == server.base_url for c in calls)
    search = read_jsonl(local_run["run"] / "steer" / "search.jsonl")
    assert search and all(0 <= r["n_coherent"] <= r["n_known"] <= r["n_samples"] for r in search)
    # a failed call is never a verdict: it can only be among the unknown samples
    failed = [c for c in calls if c["status"] == "failed" and c["tag"] == "coherence"]
    assert len(failed) <= sum(r["n_samples"] - r["n_known"] for r in search)


def test_judge_check_and_agent_against_the_local_llm(local_run, server):
    run = local_run["run"]
    out = invoke(
        "llm", "check", run, "--organism", ORGANISM, "--samples", "6", "--lists", "2",
        "--tournaments", "1", "--grade-repeats", "1", "--max-tokens", "192",
        "--agent", "5", "--agent-llm-calls", "6", "--schema", "auto",
    )  # fmt: skip
    assert "answers parsed" in out
    check = read_json(run / "judges" / "check.json")
    rows = {r["judge"]: r for r in check["rows"]}
    assert set(rows) == {"coherence", "relevance", "scale tournament", "hypothesis grade", "agent"}
    for r in rows.values():
        assert 0 <= r["answers"] <= r["requests"], r
        assert 0 <= r["unknown"] <= r["items"], r
        assert r["compared"] <= r["items"] - r["unknown"], r  # UNKNOWNs are never compared
        assert 0 <= r["agree"] <= r["compared"], r
        assert r["agreement"] == (r["agree"] / r["compared"] if r["compared"] else None), r
    assert rows["coherence"]["items"] == 6 and rows["coherence"]["requests"] == 6
    assert rows["relevance"]["items"] == 2 * 20 and rows["relevance"]["requests"] == 2 * 3
    assert rows["scale tournament"]["items"] == 1
    assert rows["hypothesis grade"]["items"] == 4
    agent = rows["agent"]["details"]
    assert agent["protocol"] in ("tools", "text") and rows["agent"]["requests"] >= 1
    assert agent["stop"] in ("final_answer", "llm_calls", "tokens", "llm_failed")
    assert agent["interactions_used"] <= 5
    # the check's agent run is kept apart from the user's agent runs
    transcript = read_jsonl(run / "judges" / "check-agent" / "transcript.jsonl")
    assert transcript[0]["llm"]["base_url"] == server.base_url
    assert not (run / "agent").exists()


def test_agent_and_grade_cli_with_the_local_judge(local_run, server):
    run = local_run["run"]
    out = invoke(
        "agent", run, "--organism", ORGANISM, "--judge", "local", "--budgets", "0",
        "--black-box-budgets", "none", "--max-llm-calls", "2", "--max-reply-tokens", "128",
        "--grader-repeats", "1",
    )  # fmt: skip
    assert "agent grades" in out
    result = read_json(run / "agent" / "adl-i0-r0" / "result.json")
    assert result["llm"]["base_url"] == server.base_url and result["llm_calls"] <= 3
    grade = read_json(run / "agent" / "adl-i0-r0" / "grade.json")
    assert len(grade["scores"]) == len(grade["answers"]) == 1  # --grader-repeats 1
    if (result["hypothesis"] or "").strip():
        # the score is the grader's answer, parsed; the grade is that score (UNKNOWN stays None)
        # (a JSON answer where the server took the grade's schema, else the text protocol)
        assert grade["scores"] == [read_answer(grade["answers"][0], GRADE, parse_grade)]
        score = grade["scores"][0]
        assert grade["grade"] == (None if score is None else float(score))
        assert grade["unknown"] == (score is None)
    else:  # no hypothesis: graded 1 without a call
        assert grade["grade"] == 1.0 and grade["scores"] == [1]
    # grading again through `adlens grade` reuses the grade: same judge identity
    stamp = (run / "agent" / "adl-i0-r0" / "grade.json").stat().st_mtime_ns
    graded = invoke("grade", run, "--organism", ORGANISM, "--judge", "local", "--repeats", "1")
    assert "agent grades" in graded and (run / "agent" / "table.md").exists()
    assert (run / "agent" / "adl-i0-r0" / "grade.json").stat().st_mtime_ns == stamp  # not regraded


def test_relevance_cli_with_the_local_judge(local_run, server, monkeypatch):
    run = local_run["run"]
    # the text protocol: the schema path against this server is tests/test_structured_judges.py
    # (JSON answers for every list would take minutes on two cores)
    monkeypatch.setenv("ADLENS_JUDGE_STRUCTURED_OUTPUT", "off")
    invoke(
        "evaluate", "relevance", run, "--organism", ORGANISM, "--judge", "local",
        "--top-k", "5", "--shuffles", "1",
    )  # fmt: skip
    overview = read_json(run / "evaluate" / "relevance.json")
    assert overview["grader_name"] == "llm" and server.model in overview["grader"]
    rows = read_jsonl(run / "evaluate" / "relevance.jsonl")
    tokens = [t for row in rows for t in row["tokens"]]
    assert tokens and all(len(row["tokens"]) == 5 for row in rows)  # --top-k 5
    # with one shuffle, a token has a verdict exactly when its one vote is known
    assert all(t["verdict"] == t["votes"][0] for t in tokens)
    # a rerun after a server restart on another port is served from the cache
    assert overview["fingerprint"]["base_url"] == server.identity
