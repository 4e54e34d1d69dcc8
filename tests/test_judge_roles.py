"""Judge roles: each role's effective config (fallback and precedence), the requests each role's
client sends (against the stub OpenAI server), a truncated answer asked again with more tokens,
the --judge-role options of the CLI, and which stage hash a role's settings enter."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.core.config import ReadConfig, RunConfig
from adlens.core.judge_config import ROLES, JudgeConfig, parse_role_specs, role_env_name
from adlens.errors import AdlensError
from adlens.judges import ChatRequest, JudgeClient, LLMCoherenceJudge, make_judges
from adlens.judges.roles import JudgeClients, role_record, truncation_note
from openai_stub import Reply, StubServer

KEY = "sk-test-roles-SECRET"
SHARED_ENV = (
    "ADLENS_JUDGE_MODEL",
    "ADLENS_JUDGE_BASE_URL",
    "ADLENS_JUDGE_API_KEY",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_BASE_URL",
)
ROLE_ENV = tuple(
    role_env_name(r, f)
    for r in ROLES
    for f in ("model", "base_url", "max_tokens", "reasoning_effort")
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in (*SHARED_ENV, *ROLE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "adlens-cache"))


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


# --------------------------------------------------------------------------- fallback, precedence


def test_a_role_falls_back_to_the_shared_settings_field_by_field():
    cfg = JudgeConfig(
        model="shared",
        base_url="https://shared.example/v1",
        max_tokens=500,
        reasoning_effort="low",
        roles={"coherence": {"model": "nano", "reasoning_effort": "minimal"}},
    )
    coherence = cfg.for_role("coherence")
    assert (coherence.model, coherence.reasoning_effort) == ("nano", "minimal")
    assert (coherence.base_url, coherence.max_tokens) == ("https://shared.example/v1", 500)
    assert coherence.roles == {}  # the effective config holds no other role
    for role in ("tournament", "relevance", "grader", "agent"):
        other = cfg.for_role(role)
        assert (other.model, other.max_tokens, other.reasoning_effort) == ("shared", 500, "low")
    default = JudgeConfig().for_role("agent")
    assert (default.model, default.base_url) == (None, None)
    assert (default.max_tokens, default.reasoning_effort) == (10_000, None)
    with pytest.raises(AdlensError, match="coherence, tournament, relevance, grader, agent"):
        cfg.for_role("judge")


def test_precedence_cli_over_config_over_environment_over_default(monkeypatch):
    monkeypatch.setenv("ADLENS_JUDGE_MODEL", "env-shared")
    monkeypatch.setenv("ADLENS_JUDGE_COHERENCE_MODEL", "env-nano")
    monkeypatch.setenv("ADLENS_JUDGE_COHERENCE_MAX_TOKENS", "777")
    monkeypatch.setenv("ADLENS_JUDGE_AGENT_REASONING_EFFORT", "medium")
    # environment over default
    env_only = JudgeConfig().for_role("coherence")
    assert (env_only.model, env_only.max_tokens) == ("env-nano", 777)
    assert JudgeConfig().for_role("agent").reasoning_effort == "medium"
    # config over environment
    config = JudgeConfig(roles={"coherence": {"model": "cfg-nano"}})
    assert config.for_role("coherence").model == "cfg-nano"
    assert config.for_role("coherence").max_tokens == 777  # the field the config left unset
    # command line over config
    cli = config.with_overrides(roles={"coherence": "cli-nano"}, max_tokens=3000)
    assert cli.for_role("coherence").model == "cli-nano"
    assert config.roles["coherence"].model == "cfg-nano"  # the config itself is unchanged
    # the shared --judge-max-tokens reaches every role without a limit of its own
    assert cli.for_role("agent").max_tokens == 3000
    assert cli.for_role("coherence").max_tokens == 777
    # the shared model variable is what the client falls back on; the manifest shows it
    settings = cli.role_settings()
    assert settings["grader"]["model"] == "env-shared"
    assert settings["coherence"] == {
        "model": "cli-nano",
        "base_url": None,
        "max_tokens": 777,
        "reasoning_effort": None,
    }
    assert settings["agent"]["reasoning_effort"] == "medium"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("ADLENS_JUDGE_GRADER_REASONING_EFFORT", "extreme", ("minimal, low, medium, high",)),
        ("ADLENS_JUDGE_AGENT_MAX_TOKENS", "lots", ("ADLENS_JUDGE_AGENT_MAX_TOKENS", "whole")),
        ("ADLENS_JUDGE_AGENT_MAX_TOKENS", "0", ("at least 1",)),
    ],
)
def test_bad_environment_values_are_one_line(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(AdlensError) as err:
        JudgeConfig().for_role(name.split("_")[2].lower())
    assert "\n" not in str(err.value) and name in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_role_specs_and_overrides_reject_bad_values():
    assert parse_role_specs(["coherence=openai/gpt-5-nano", " agent = openai/gpt-5 "]) == {
        "coherence": "openai/gpt-5-nano",
        "agent": "openai/gpt-5",
    }
    for bad, word in (("colour=x", "unknown role 'colour'"), ("coherence", "ROLE=MODEL")):
        with pytest.raises(AdlensError, match=word) as err:
            parse_role_specs([bad])
        assert ", ".join(ROLES) in str(err.value)
    with pytest.raises(AdlensError, match="--reasoning-effort: use one of none, minimal"):
        JudgeConfig().with_overrides(reasoning_effort="maximal")
    with pytest.raises(AdlensError, match="--judge-max-tokens"):
        JudgeConfig().with_overrides(max_tokens=0)


# --------------------------------------------------------------------------- requests per role


def test_each_role_reaches_the_server_with_its_own_model_limit_and_effort(monkeypatch, stub):
    monkeypatch.setenv("ADLENS_JUDGE_API_KEY", KEY)
    monkeypatch.setenv("ADLENS_JUDGE_RELEVANCE_MODEL", "env-relevance")
    cfg = JudgeConfig(
        model="mini",
        base_url=stub.base_url,
        max_tokens=4000,
        reasoning_effort="high",
        roles={"coherence": {"model": "nano", "max_tokens": 300, "reasoning_effort": "minimal"}},
        cache=False,
    )

    def answer(body):  # coherence asks nano; the tournament asks mini to pick a list
        return "ANSWER: COHERENT" if body["model"] == "nano" else "ANSWER: 2"

    stub.responder = answer
    judges = make_judges(cfg, pair=None)
    assert judges.client is not judges.scale_client  # two roles, two configs, two clients
    assert judges.coherence.judge_coherence(["p"], ["c"]) == [True]
    lists = [[{"token": t, "id": i, "prob": 0.5}] for i, t in enumerate((" cake", " bake"))]
    assert judges.scale_chooser.choose(lists)[0] == 1  # the judge's pick
    coherence, tournament = stub.requests
    assert coherence.body["model"] == "nano"
    assert coherence.body["max_tokens"] == 300 and coherence.body["reasoning_effort"] == "minimal"
    assert tournament.body["model"] == "mini"
    assert tournament.body["max_tokens"] == 4000 and tournament.body["reasoning_effort"] == "high"
    assert "scale tournament" in judges.describe() and "nano" in judges.describe()

    clients = JudgeClients(cfg)
    relevance = clients.client("relevance")
    assert clients.client("grader") is clients.client("agent")  # equal configs: one client
    assert clients.client("relevance") is relevance and relevance is not clients.client("grader")
    relevance.complete(ChatRequest.user("hi"))
    assert stub.requests[-1].body["model"] == "env-relevance"
    # no effort anywhere: the parameter is not sent at all
    plain = JudgeClients(JudgeConfig(model="m", base_url=stub.base_url, cache=False))
    plain.client("agent").complete(ChatRequest.user("hi"))
    assert "reasoning_effort" not in stub.requests[-1].body
    assert stub.requests[-1].body["max_tokens"] == 10_000


def test_agent_and_grader_clients_follow_their_roles(monkeypatch, stub, tmp_path):
    from adlens.agent import make_client

    monkeypatch.setenv("ADLENS_JUDGE_BASE_URL", stub.base_url)
    monkeypatch.setenv("ADLENS_JUDGE_API_KEY", KEY)
    cfg = JudgeConfig(roles={"agent": {"model": "big"}, "grader": {"model": "mini"}})
    agent = make_client(judge=cfg, log_path=tmp_path / "a.jsonl")
    grader = make_client(judge=cfg, log_path=tmp_path / "g.jsonl", role="grader")
    assert (agent.model, grader.model) == ("big", "mini")
    # a grader without a model of its own grades with the agent's (and --grader-model wins)
    bare = JudgeConfig(roles={"agent": {"model": "big"}})
    assert make_client(judge=bare, role="grader", fallback_model="big").model == "big"
    assert make_client("g2", judge=cfg, role="grader", fallback_model="big").model == "g2"


# --------------------------------------------------------------------------- truncation


def _client(stub, tmp_path, **kw):
    opts = dict(api_key=KEY, max_retries=0, cache_dir=tmp_path / "cache")
    opts.update(kw)
    return JudgeClient("stub-model", stub.base_url, log_path=tmp_path / "calls.jsonl", **opts)


def test_a_truncated_answer_is_asked_again_with_twice_the_tokens(stub, tmp_path):
    stub.push(Reply("", finish_reason="length"), Reply("ANSWER: INCOHERENT"))
    client = _client(stub, tmp_path, max_tokens=100)
    judge = LLMCoherenceJudge(client)
    assert judge.judge_coherence(["p"], ["c"]) == [False]
    first, second = stub.requests
    assert (first.body["max_tokens"], second.body["max_tokens"]) == (100, 200)
    assert first.messages == second.messages  # the same question, more room; no reminder
    stats = client.stats()
    assert (stats["truncated"], stats["truncation_retries"], stats["truncated_unknown"]) == (
        1,
        1,
        0,
    )
    rows = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [r["truncated"] for r in rows] == [True, False]
    assert [r["finish_reason"] for r in rows] == ["length", "stop"]
    assert [r["max_tokens"] for r in rows] == [100, 200]
    assert rows[1]["tag"] == "coherence:longer"
    # a rerun is served from the cache, the truncated first answer included
    again = _client(stub, tmp_path, max_tokens=100)
    assert LLMCoherenceJudge(again).judge_coherence(["p"], ["c"]) == [False]
    assert len(stub.requests) == 2 and again.stats()["truncated"] == 1


def test_truncation_retry_is_capped_then_unknown_and_counted(stub, tmp_path):
    stub.push(*[Reply("", finish_reason="length")] * 3)
    client = _client(stub, tmp_path, max_tokens=100, max_tokens_cap=150, cache=False)
    assert LLMCoherenceJudge(client).judge_coherence(["p"], ["c"]) == [None]
    assert [r.body["max_tokens"] for r in stub.requests] == [100, 150, 150]  # then the reminder
    stats = client.stats()
    assert (stats["truncated"], stats["truncation_retries"], stats["truncated_unknown"]) == (
        3,
        1,
        1,
    )
    note = truncation_note(stats)
    assert "3 judge answer(s) stopped at their token limit" in note and "1 left UNKNOWN" in note
    # a readable answer that was cut is used as it is: nothing sent again
    stub.push(Reply("Fluent text.\nANSWER: COHERENT", finish_reason="length"))
    assert LLMCoherenceJudge(client).judge_coherence(["p"], ["d"]) == [True]
    assert len(stub.requests) == 4


def test_the_local_server_caps_tokens_by_its_context(monkeypatch):
    from adlens.judges import endpoint, local_llm

    server = local_llm.LocalServer(
        pid=1, port=1, model="m", gguf="m.gguf", chat_format=None, n_ctx=1024, log="l",
        started=0.0, version="v",
    )  # fmt: skip
    monkeypatch.setattr(local_llm, "running", lambda: server)
    cfg, identity = endpoint.local_config(JudgeConfig(backend="local", reasoning_effort="high"))
    assert cfg.max_tokens == 256 and cfg.max_tokens_cap == 256  # a quarter of 1024, no retry
    assert cfg.reasoning_effort is None and identity == server.identity
    big = local_llm.LocalServer(**{**server.__dict__, "n_ctx": 32768})
    monkeypatch.setattr(local_llm, "running", lambda: big)
    assert endpoint.local_config(JudgeConfig(backend="local"))[0].max_tokens == 512


# --------------------------------------------------------------------------- records, hashes, CLI


def test_role_record_never_holds_a_key(monkeypatch, stub):
    monkeypatch.setenv("ADLENS_JUDGE_API_KEY", KEY)
    cfg = JudgeConfig(model="m", base_url=stub.base_url, roles={"coherence": {"model": "nano"}})
    record = role_record(cfg, "coherence", JudgeClients(cfg).client("coherence"))
    assert record["model"] == "nano" and record["max_tokens"] == 10_000
    assert record["truncated"] == 0 and KEY not in json.dumps(record)
    assert role_record(JudgeConfig(), "tournament") == {"backend": "offline"}
    assert role_record(cfg, "agent")["model"] == "m"


def test_a_role_enters_only_its_own_stage_hash(monkeypatch):
    from adlens.pipeline.hashes import read_hash, steer_hash

    monkeypatch.setenv("ADLENS_JUDGE_BASE_URL", "https://judge.example/v1")

    def hashes(judge):
        config = RunConfig(models={"finetuned": "x"}, read=ReadConfig(), judge=judge)
        r = read_hash("collect-digest", config.read, config.judge)
        return r, steer_hash(r, config)

    shared = JudgeConfig(model="mini")
    read0, steer0 = hashes(shared)
    for role in (
        {"coherence": {"model": "nano"}},
        {"coherence": {"reasoning_effort": "low"}},
        {"coherence": {"max_tokens": 2000}},
        {"agent": {"model": "gpt-5"}},
    ):
        read1, steer1 = hashes(JudgeConfig(model="mini", roles=role))
        assert read1 == read0
        assert (steer1 != steer0) == ("coherence" in role), role
    read2, steer2 = hashes(JudgeConfig(model="mini", roles={"tournament": {"model": "big"}}))
    assert read2 != read0 and steer2 != steer0  # the steer stage builds on the readings
    # the environment variable of a role counts like its config entry
    monkeypatch.setenv("ADLENS_JUDGE_COHERENCE_MODEL", "nano")
    assert hashes(shared) == hashes(
        JudgeConfig(model="mini", roles={"coherence": {"model": "nano"}})
    )


def _cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "240"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--judge-role", "colour=openai/gpt-5"), ("--judge-role", "unknown role 'colour'")),
        (("--judge-role", "coherence"), ("--judge-role", "ROLE=MODEL")),
        (("--reasoning-effort", "maximal"), ("--reasoning-effort", "minimal, low, medium")),
        (("--judge-max-tokens", "0"), ("--judge-max-tokens", "at least 1")),
    ],
)
def test_bad_judge_options_are_one_line_through_the_cli(tmp_path, flags, words):
    out = tmp_path / "run"
    code, output = _cli("run", "--finetuned", "x", "--out", out, *flags)
    assert code == 1, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), output
    for word in words:
        assert word in lines[0]
    if "--judge-role" in flags:
        assert "coherence, tournament, relevance, grader, agent" in lines[0]
    assert not out.exists()


def test_judge_options_reach_the_run_config(tmp_path):
    code, output = _cli(
        "run", "--finetuned", "x", "--out", tmp_path / "run", "--dry-run",
        "--judge-role", "coherence=openai/gpt-5-nano", "--judge-role", "agent=openai/gpt-5",
        "--judge-max-tokens", "12000", "--reasoning-effort", "low",
    )  # fmt: skip
    assert code == 0, output
    judge = json.loads(output[output.index("{") :])["judge"]
    assert judge["roles"]["coherence"]["model"] == "openai/gpt-5-nano"
    assert judge["roles"]["agent"]["model"] == "openai/gpt-5"
    assert (judge["max_tokens"], judge["reasoning_effort"]) == (12000, "low")
    for command in (("run",), ("agent", "run"), ("evaluate", "relevance")):
        code, text = _cli(*command, "--help")
        assert code == 0 and "--judge-role" in text and "--reasoning-effort" in text, command


# --------------------------------------------------------------------------- the pipeline


def test_pipeline_uses_each_role_and_records_it(monkeypatch, stub, tiny_dirs, tmp_path):
    """A run with steering: the tournament asks the shared model, coherence its own (one answer
    cut at its limit first); the manifest records both roles and the truncation."""
    from adlens.core.config import SteerConfig
    from adlens.pipeline import stages as pipeline
    from conftest import small_run

    monkeypatch.setenv("ADLENS_JUDGE_API_KEY", KEY)
    cut = []

    def answer(body):
        if body["model"] != "nano":
            return "ANSWER: 1"
        if not cut:  # the first coherence question: out of tokens before any label
            cut.append(body["max_tokens"])
            return Reply("", finish_reason="length")
        return "ANSWER: COHERENT"

    stub.responder = answer
    config = small_run(tiny_dirs, tmp_path, scales=[1.0, 2.0]).model_copy(
        update={
            "judge": JudgeConfig(
                model="mini",
                base_url=stub.base_url,
                max_tokens=64,
                roles={"coherence": {"model": "nano", "reasoning_effort": "low"}},
            ),
            "steer": SteerConfig(
                enabled=True, positions="best", first_steps=3, other_steps=2, search_samples=2,
                search_max_new_tokens=4, samples_per_prompt=1, final_max_new_tokens=4,
                prompts=["Hello there"],
            ),
        }
    )  # fmt: skip
    out = tmp_path / "run"
    summary = pipeline.run(config, out, show_progress=False)
    models = {r.body["model"] for r in stub.requests}
    assert models == {"nano", "mini"}
    nano = [r.body for r in stub.requests if r.body["model"] == "nano"]
    assert all(b["reasoning_effort"] == "low" for b in nano)
    assert not any("reasoning_effort" in r.body for r in stub.requests if r.body["model"] == "mini")
    assert cut == [64] and sorted({b["max_tokens"] for b in nano}) == [64, 128]
    manifest = json.loads((out / "manifest.json").read_text())
    coherence, tournament = manifest["judges"]["coherence"], manifest["judges"]["tournament"]
    assert (coherence["model"], coherence["reasoning_effort"]) == ("nano", "low")
    assert (coherence["truncated"], coherence["truncation_retries"]) == (1, 1)
    assert (tournament["model"], tournament["max_tokens"]) == ("mini", 64)
    assert tournament["calls"] >= 1 and KEY not in json.dumps(manifest)
    assert "1 judge answer(s) stopped at their token limit" in summary.steer.judges
