"""Structured answers: each judge role's JSON schema sent as `response_format` (against the stub
OpenAI server), JSON answers validated into verdicts (anything invalid is UNKNOWN), the
fallback to the text protocol where an endpoint rejects the format (found out once, kept in the
judge cache), `structured_output="off"`, the counts per role, and the real llama.cpp server."""

from __future__ import annotations

import json
import os
import re

import pytest

from adlens.agent.config import AgentConfig
from adlens.agent.grade import grade_hypothesis, grader_fingerprint
from adlens.agent.prompts import parse_grade
from adlens.agent.runner import run_agent
from adlens.core.judge_config import JudgeConfig
from adlens.evaluate.graders import LLMRelevanceGrader, RelevanceContext
from adlens.judges import ChatRequest, JudgeClient, LLMCoherenceJudge, TournamentScaleChooser
from adlens.judges.prompts import (
    coherence_messages,
    parse_coherence,
    parse_relevance,
    relevance_messages,
)
from adlens.judges.schemas import (
    COHERENCE,
    FINAL,
    GRADE,
    NOT_JSON,
    decode,
    read_answer,
    relevance_schema,
    token_key,
    tournament_schema,
)
from adlens.judges.structured import STATE_FILE, rejects_format
from adlens.organisms.organism import Organism
from openai_stub import Reply, StubServer
from test_agent import run_dir  # noqa: F401  (a module-scoped fixture: a tiny run)

USER_CACHE = os.environ.get("ADLENS_CACHE")
ENV_VARS = (
    "ADLENS_JUDGE_MODEL",
    "ADLENS_JUDGE_BASE_URL",
    "ADLENS_JUDGE_API_KEY",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_BASE_URL",
)
TOKENS = [" honey", " the", " bee", ",", " table"]
RELEVANT = {"honey", "bee"}  # as the schema's keys name them
CONTEXT = RelevanceContext(Organism(name="honey", type="sdf", short_description="Green honey."))
REJECT_SCHEMA = (
    "1 validation error: body.response_format.type: Input should be 'text' or 'json_object'"
)
REJECT_ANY = "Invalid parameter: 'response_format' is not supported with this model."


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "adlens-cache"))


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def make_client(stub, tmp_path, **kw):
    opts = dict(
        api_key="sk-test",
        max_retries=2,
        backoff=0.01,
        cache_dir=tmp_path / "cache",
        log_path=tmp_path / "calls.jsonl",
    )
    return JudgeClient("stub-model", stub.base_url, **(opts | kw))


def sent_schema(body):
    """The schema a request carried, whichever form; None without response_format."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    return fmt["json_schema"]["schema"] if fmt["type"] == "json_schema" else fmt["schema"]


def log_rows(tmp_path):
    return [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]


# --------------------------------------------------------------------------- the schemas


def objects(schema):
    """Every object schema inside `schema`."""
    if schema.get("type") == "object":
        yield schema
        for sub in schema["properties"].values():
            yield from objects(sub)


@pytest.mark.parametrize(
    "schema",
    [COHERENCE, GRADE, FINAL, tournament_schema(4), relevance_schema(TOKENS)],
    ids=lambda s: s.name,
)
def test_schemas_are_strict_and_reason_first(schema):
    # OpenAI's strict mode: every property required, no others, at every level
    for obj in objects(schema.schema):
        assert obj["required"] == list(obj["properties"]) and obj["additionalProperties"] is False
    props = list(schema.schema["properties"])
    assert props[0] == ("hypothesis" if schema is FINAL else "reasoning")
    fmt = schema.response_format("json_schema")
    assert fmt["json_schema"]["strict"] is True and fmt["json_schema"]["schema"] is schema.schema
    local = schema.response_format("json_object")
    assert local["type"] == "json_object" and list(local["schema"]) == list(schema.schema)
    # the local form: the verdict alone (a grammar over a reasoning string is slow to sample)
    assert "reasoning" not in local["schema"]["properties"]
    assert local["schema"]["required"] == list(local["schema"]["properties"])
    assert set(local["schema"]["properties"]) == set(props) - {"reasoning"}
    assert "maxLength" not in json.dumps(schema.schema)  # the strict form: no string lengths


def test_relevance_schema_grades_every_shown_token_once():
    verdicts = relevance_schema(TOKENS).schema["properties"]["verdicts"]
    assert verdicts["required"] == ["1. honey", "2. the", "3. bee", "4.", "5. table"]
    # no quotes, backslashes or control characters: llama-cpp-python's grammar converter
    # mangles them in property names (its server then dies on the grammar)
    nasty = ['"', "\\", "\n", " it's", "日本", "<|im_end|>"]
    keys = relevance_schema(nasty).schema["properties"]["verdicts"]["required"]
    assert keys == ["1.", "2.", "3.", "4. it s", "5.", "6. im end"]
    assert tournament_schema(3).schema["properties"]["best"]["enum"] == [1, 2, 3]
    assert GRADE.schema["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- validation


def answer(**fields):
    return json.dumps({"reasoning": "Thinking it over.", **fields})


def relevance_answer(keys, label=lambda k: "RELEVANT"):
    return answer(verdicts={key: label(key) for key in keys})


KEYS = [token_key(k, t) for k, t in enumerate(TOKENS, 1)]


@pytest.mark.parametrize(
    "text, verdict",
    [
        (answer(label="COHERENT"), True),
        (answer(label="incoherent"), False),  # the case a model without constraints may use
        (answer(label="MAYBE"), None),
        (answer(verdict="COHERENT"), None),  # a field missing
        ('{"reasoning": "cut off at the tok', None),  # truncated: not JSON
        (answer(label="COHERENT") + "\nANSWER: INCOHERENT", None),  # more after the object
        ('```json\n{"label": "COHERENT"}\n```', True),  # fenced
        ("<think>hmm</think>" + answer(label="INCOHERENT"), False),
        ('{"reasoning": "a raw\nnewline", "label": "COHERENT"}', True),  # llama.cpp's grammar
        ("It reads well.\nANSWER: COHERENT", True),  # not JSON: the text protocol
        ("I am not sure.", None),
    ],
)
def test_read_coherence(text, verdict):
    assert read_answer(text, COHERENCE, parse_coherence) == verdict


@pytest.mark.parametrize(
    "schema, text, verdict",
    [
        (tournament_schema(3), answer(best=2), 2),
        (tournament_schema(3), answer(best=3), 3),
        (tournament_schema(3), answer(best=4), None),  # out of range
        (tournament_schema(3), answer(best=0), None),
        (tournament_schema(3), answer(best=1.5), None),
        (tournament_schema(3), answer(best=True), None),
        (tournament_schema(3), answer(best="2"), 2),
        (GRADE, answer(score=4), 4),
        (GRADE, answer(score=7), None),
        (GRADE, answer(score=4.5), None),  # never rounded
        (GRADE, answer(score=None), None),
        (GRADE, "Argued.\nANSWER: 3", 3),
        (FINAL, json.dumps({"hypothesis": " Bees. "}), "Bees."),
        (FINAL, json.dumps({"hypothesis": ""}), None),
        (FINAL, json.dumps({"hypothesis": 3}), None),
    ],
)
def test_read_choices_scores_and_final_answers(schema, text, verdict):
    def text_parser(t):
        return parse_grade(t) if schema is GRADE else None

    assert read_answer(text, schema, text_parser) == verdict


def test_read_relevance_per_token():
    schema = relevance_schema(TOKENS)

    def read(text):
        return read_answer(text, schema, lambda t: parse_relevance(t, len(TOKENS)))

    graded = relevance_answer(
        KEYS, lambda k: "RELEVANT" if k in (KEYS[0], KEYS[2]) else "IRRELEVANT"
    )
    assert read(graded) == [True, False, True, False, False]
    assert read(relevance_answer(KEYS[:4])) == [True] * 4 + [None]  # one left out
    foreign = [*KEYS[:2], '3. " wasp"', *KEYS[3:]]  # a token not shown in place of one
    assert read(relevance_answer(foreign)) == [True, True, None, True, True]
    extra = [*KEYS, '6. " wasp"', "hive"]  # grades of tokens not shown grade nothing
    assert read(relevance_answer(extra)) == [True] * 5
    by_number = ["1", "2", "3", "4", "5"]  # keys of a model without constraints
    assert read(relevance_answer(by_number)) == [True] * 5
    by_token = ["honey", "the", "bee", ",", "table"]
    assert read(relevance_answer(by_token)) == [True] * 5
    twice = json.dumps(
        {"verdicts": {KEYS[0]: "RELEVANT", "1": "IRRELEVANT", **{k: "RELEVANT" for k in KEYS[1:]}}}
    )
    assert read(twice) == [None, True, True, True, True]  # graded twice, differently
    bad_label = relevance_answer(KEYS, lambda k: "R?" if k == KEYS[1] else "RELEVANT")
    assert read(bad_label) == [True, None, True, True, True]
    assert read(relevance_answer(KEYS[:2])) is None  # fewer than half: no answer
    assert read(json.dumps({"verdicts": ["RELEVANT"] * 5})) is None
    assert read('{"verdicts": {"1. \\" honey\\"": "RELEV') is None  # cut off
    # an echo of the prompt is text, read by the text protocol, which refuses it
    messages = [m["content"] for m in coherence_messages("Hi", "Hello")]
    assert decode(messages[-1]) is NOT_JSON
    echo = "ANSWER: 1=<R or I> 2=<R or I> ... 5=<R or I>"
    assert read(echo) is None


def test_rejections_that_name_the_format():
    assert rejects_format(422, REJECT_SCHEMA) and rejects_format(400, REJECT_ANY)
    assert rejects_format(500, 'response_format type must be one of "text" or "json_object"')
    assert not rejects_format(400, "stub error 400") and not rejects_format(429, REJECT_ANY)


# --------------------------------------------------------------------------- per role, stub


def test_coherence_sends_its_schema_and_reads_json(stub, tmp_path):
    stub.responder = lambda body: answer(
        label="INCOHERENT" if "zzz" in body["messages"][-1]["content"] else "COHERENT"
    )
    client = make_client(stub, tmp_path)
    judge = LLMCoherenceJudge(client)
    verdicts = judge.judge_coherence(["p"] * 3, ["A fine sentence.", "zzz zzz zzz", "Fine."])
    assert verdicts == [True, False, True]
    assert all(sent_schema(r.body) == COHERENCE.schema for r in stub.requests)
    assert stub.requests[0].body["response_format"]["type"] == "json_schema"
    rows = log_rows(tmp_path)
    assert [r["structured"] for r in rows] == ["json_schema"] * 3
    stats = client.stats()
    assert stats["structured_answers"] == 3 and stats["response_format"] == "json_schema"
    assert stats["parse_by_role"]["coherence"] == {
        "answers": 3, "structured": 3, "unreadable": 0, "unknown": 0, "parse_rate": 1.0
    }  # fmt: skip
    # a rerun is served from the cache, still read as JSON
    again = LLMCoherenceJudge(make_client(stub, tmp_path))
    assert (
        again.judge_coherence(["p"] * 3, ["A fine sentence.", "zzz zzz zzz", "Fine."]) == verdicts
    )
    assert len(stub.requests) == 3


def test_invalid_json_is_asked_again_then_unknown_and_counted(stub, tmp_path):
    def respond(body):
        first = "sample-one" in body["messages"][1]["content"]
        if len(body["messages"]) > 2:  # the reminder: sample-one stays unreadable
            return answer(label="SORT OF") if first else answer(label="COHERENT")
        return answer(label="SORT OF") if first else '{"label": "COHER'

    stub.responder = respond
    client = make_client(stub, tmp_path)
    verdicts = LLMCoherenceJudge(client).judge_coherence(["p", "p"], ["sample-one", "sample-two"])
    assert verdicts == [None, True]  # the second: its reminder got a valid answer
    assert [sent_schema(r.body) for r in stub.requests] == [COHERENCE.schema] * 4
    assert all(len(r.messages) == 4 for r in stub.requests[2:])  # reminders kept the schema
    counts = client.stats()["parse_by_role"]["coherence"]
    assert counts == {
        "answers": 2,
        "structured": 2,
        "unreadable": 2,
        "unknown": 1,
        "parse_rate": 0.0,
    }
    assert client.stats()["parse_failures"] == 3


def test_tournament_sends_its_schema_and_a_choice_out_of_range_is_unknown(stub, tmp_path):
    lists = [[{"token": t, "id": i, "prob": 0.1}] for i, t in enumerate((" a", " b", " c"))]
    stub.push(answer(best=2))
    chooser = TournamentScaleChooser(make_client(stub, tmp_path), group_size=10)
    winner, _ = chooser.choose(lists)
    assert winner == 1 and chooser.last_rounds[0][0]["source"] == "judge"
    assert sent_schema(stub.requests[0].body) == tournament_schema(3).schema
    stub.push(answer(best=4), answer(best=9))  # out of range, and again after the reminder
    lists2 = [[{"token": t, "id": i, "prob": 0.1}] for i, t in enumerate((" x", " y", " z"))]
    winner, _ = chooser.choose(lists2)
    assert chooser.last_rounds[0][0]["source"] == "offline"


def test_relevance_sends_its_schema_and_maps_shuffles_back(stub, tmp_path):
    def respond(body):
        keys = sent_schema(body)["properties"]["verdicts"]["required"]
        label = {k: "RELEVANT" if k.split(". ")[-1] in RELEVANT else "IRRELEVANT" for k in keys}
        return answer(verdicts=label)

    stub.responder = respond
    grader = LLMRelevanceGrader(make_client(stub, tmp_path), shuffles=3, seed=0)
    assert grader.grade(TOKENS, CONTEXT) == [True, False, True, False, False]
    assert len(stub.requests) == 3
    orders = {
        tuple(sent_schema(r.body)["properties"]["verdicts"]["required"]) for r in stub.requests
    }
    assert len(orders) == 3  # each shuffle its own schema, in its shown order


def test_relevance_with_a_token_left_out_is_unknown_for_that_token(stub, tmp_path):
    def respond(body):
        keys = sent_schema(body)["properties"]["verdicts"]["required"]
        return answer(verdicts={k: "RELEVANT" for k in keys if not k.endswith("table")})

    stub.responder = respond
    grader = LLMRelevanceGrader(make_client(stub, tmp_path), shuffles=1)
    assert grader.grade(TOKENS, CONTEXT) == [True, True, True, True, None]


def test_grade_sends_its_schema(stub, tmp_path):
    stub.push(answer(score=4), answer(score=7), answer(score=5), answer(score=7))
    client = make_client(stub, tmp_path, concurrency=1)  # answers in the order pushed
    org = Organism(name="honey", type="sdf", short_description="Green honey.")
    grade = grade_hypothesis(client, org, "Honey.", repeats=3)
    assert grade.scores == [4, None, 5]  # 7: asked again, and 7 again
    assert all(sent_schema(r.body) == GRADE.schema for r in stub.requests)
    assert "structured_output" not in grader_fingerprint(org, client, 3)
    off = make_client(stub, tmp_path, structured_output="off")
    assert grader_fingerprint(org, off, 3)["structured_output"] == "off"


def test_agent_final_answer_in_the_text_protocol(run_dir, stub, tmp_path):  # noqa: F811
    stub.push(
        Reply("Thinking."), Reply(json.dumps({"hypothesis": "The model learned about bees."}))
    )
    cfg = AgentConfig(protocol="text", max_llm_calls=1, model_max_new_tokens=4, device="cpu")
    client = make_client(stub, tmp_path, cache=False)
    result = run_agent(run_dir["run"], "blackbox", 0, 0, client=client, cfg=cfg)
    assert result["hypothesis"] == "The model learned about bees." and result["stop"] == "llm_calls"
    assert "response_format" not in stub.requests[0].body  # CALL/FINAL replies: free text
    assert sent_schema(stub.requests[1].body) == FINAL.schema
    stub.push(Reply("Thinking."), Reply('{"hypothesis": "The model learned ab'))  # cut off
    result = run_agent(run_dir["run"], "blackbox", 0, 1, client=client, cfg=cfg)
    assert result["hypothesis"] is None  # invalid JSON is no hypothesis
    assert client.stats()["parse_by_role"]["agent"]["unreadable"] == 1


# --------------------------------------------------------------------------- fallback, off


def test_an_endpoint_that_rejects_both_forms_falls_back_once(stub, tmp_path):
    def respond(body):
        if "response_format" in body:
            fmt = body["response_format"]["type"]
            return Reply(code=422 if fmt == "json_schema" else 400, text="", message=REJECT_ANY)
        return "Reads well.\nANSWER: COHERENT"

    stub.responder = respond
    client = make_client(stub, tmp_path)
    assert LLMCoherenceJudge(client).judge_coherence(["p"] * 3, ["a", "b", "c"]) == [True] * 3
    types = [(r.body.get("response_format") or {}).get("type") for r in stub.requests]
    assert types == ["json_schema", "json_object", None, None, None]  # the first alone, once
    stats = client.stats()
    assert stats["schema_rejected"] == 2 and stats["failures"] == 0
    assert stats["response_format"] == "text"
    assert [r["structured"] for r in log_rows(tmp_path)] == [None] * 3
    state = json.loads((tmp_path / "cache" / STATE_FILE).read_text())
    assert [s["form"] for s in state.values()] == ["text"]
    # a new client on the same endpoint (a later run) does not try again
    fresh = make_client(stub, tmp_path, cache=True)
    LLMCoherenceJudge(fresh).judge_coherence(["q"], ["d"])
    assert "response_format" not in stub.requests[-1].body and len(stub.requests) == 6


def test_llama_cpp_python_form_is_found_and_kept(stub, tmp_path):
    def respond(body):
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_schema":  # what llama-cpp-python's server answers
            return Reply(code=422, text="", message=REJECT_SCHEMA)
        return answer(label="COHERENT") if fmt == "json_object" else "ANSWER: INCOHERENT"

    stub.responder = respond
    client = make_client(stub, tmp_path)
    assert LLMCoherenceJudge(client).judge_coherence(["p"] * 2, ["a", "b"]) == [True, True]
    types = [(r.body.get("response_format") or {}).get("type") for r in stub.requests]
    assert types == ["json_schema", "json_object", "json_object"]
    local = sent_schema(stub.requests[1].body)  # the schema, reasoning bounded
    assert local == COHERENCE.response_format("json_object")["schema"] != COHERENCE.schema
    fresh = make_client(stub, tmp_path)
    assert LLMCoherenceJudge(fresh).judge_coherence(["q"], ["c"]) == [True]
    assert stub.requests[-1].body["response_format"]["type"] == "json_object"
    assert len(stub.requests) == 4


def test_old_llama_cpp_500_is_not_retried_and_other_errors_are_not_a_rejection(stub, tmp_path):
    old = 'response_format type must be one of "text" or "json_object", but got: json_schema'
    stub.push(Reply(code=500, text="", message=old), answer(label="COHERENT"))
    client = make_client(stub, tmp_path)
    assert LLMCoherenceJudge(client).judge_coherence(["p"], ["a"]) == [True]
    assert client.stats()["retries"] == 0 and len(stub.requests) == 2
    other = StubServer().start()
    try:
        other.push(Reply.status(400))  # "stub error 400": nothing about the format
        client = make_client(other, tmp_path, max_retries=0)
        assert LLMCoherenceJudge(client).judge_coherence(["p"], ["a"]) == [None]
        assert client.stats()["failures"] == 1 and client.support.form() == "json_schema"
    finally:
        other.stop()


def test_off_sends_the_text_protocol_with_the_old_cache_keys(stub, tmp_path):
    client = make_client(stub, tmp_path, structured_output="off")
    assert LLMCoherenceJudge(client).judge_coherence(["p"], ["a"]) == [True]
    assert "response_format" not in stub.requests[0].body
    request = ChatRequest(messages=coherence_messages("p", "a"), tag="coherence")
    with_schema = ChatRequest(messages=coherence_messages("p", "a"), schema=COHERENCE)
    assert client.key(with_schema, client.form(with_schema)) == client.key(request)
    auto = make_client(stub, tmp_path)
    assert auto.key(with_schema, auto.form(with_schema)) != auto.key(request)
    assert client.stats()["response_format"] == "off"
    cfg = JudgeConfig(model="m", base_url=stub.base_url)
    before = dict(backend="auto", model="m", base_url=stub.base_url, temperature=0.0)
    before |= dict(max_tokens=10_000, reasoning_effort=None)
    assert cfg.hashed() == before  # auto: the hashes of results judged before it hold
    off = JudgeConfig(model="m", base_url=stub.base_url, structured_output="off")
    assert off.hashed() == {**before, "structured_output": "off"}
    assert JudgeClient.from_config(off, log_path=None).structured_output == "off"


# --------------------------------------------------------------------------- the real server


def test_real_llama_cpp_server_takes_the_coherence_and_relevance_schemas(tmp_path, monkeypatch):
    from adlens.judges import local_llm
    from test_local_llm import _require_server_parts

    if USER_CACHE is None:  # the model's assets live in the user's cache
        monkeypatch.delenv("ADLENS_CACHE", raising=False)
    else:
        monkeypatch.setenv("ADLENS_CACHE", USER_CACHE)
    _require_server_parts()
    state = tmp_path / "server.json"
    with local_llm.serve("smollm2", state=state) as srv:
        client = JudgeClient(
            srv.model, srv.base_url, cache_dir=tmp_path / "cache", max_tokens=160, max_retries=1
        )
        judge = LLMCoherenceJudge(client)
        samples = ["Hello! How can I help you today?", "the the the the the the the", "Fine."]
        verdicts = judge.judge_coherence(["Hi"] * 3, samples)
        counts = client.stats()["parse_by_role"]["coherence"]
        # tokens with quotes, a backslash, a newline: the server parses the schema's grammar
        nasty = [" honey", '"', "\\", "\n", " it's", " bee"]
        grades = LLMRelevanceGrader(client, shuffles=1).grade(nasty, CONTEXT)
        assert srv.alive() and len(grades) == 6
    # the server rejects OpenAI's form (HTTP 500 in llama-cpp-python 0.3) and takes its own
    assert client.stats()["schema_rejected"] == 1 and client.support.form() == "json_object"
    assert counts["answers"] == 3 and counts["structured"] == 3
    for answer_, verdict in zip(judge.last_answers, verdicts, strict=True):
        assert answer_.structured == "json_object"
        obj = decode(answer_.text)
        if answer_.finish_reason == "stop":  # constrained: valid JSON of the local schema
            assert isinstance(obj, dict) and list(obj) == ["label"]  # no reasoning string
            assert verdict == (obj["label"] == "COHERENT")
    rows = log_rows_at(tmp_path / "cache")
    assert rows and all(r["request"]["response_format"]["type"] == "json_object" for r in rows)
    rel = [r for r in rows if "verdicts" in r["request"]["response_format"]["schema"]["properties"]]
    assert len(rel) >= 1
    for row in rel:  # the keys of the shown (shuffled) tokens, in the schema's order
        keys = row["request"]["response_format"]["schema"]["properties"]["verdicts"]["required"]
        names = sorted(k.split(".", 1)[1] for k in keys)  # each shown token once
        assert names == sorted(["", "", "", " honey", " it s", " bee"])
        if row["finish_reason"] == "stop":
            assert list(decode(row["text"])["verdicts"]) == keys


def log_rows_at(cache):
    return [json.loads(p.read_text()) for p in cache.glob("*/*.json")]


def test_keys_number_the_tokens_as_the_prompt_does():
    user = relevance_messages("d", [], TOKENS)[-1]["content"]
    listed = re.findall(r"^(\d+)\. (\".*\")$", user, re.MULTILINE)
    assert [token_key(int(k), json.loads(t)) for k, t in listed] == KEYS


def test_structured_output_default_comes_from_the_environment(monkeypatch):
    from adlens.core.config import JudgeConfig
    from adlens.errors import AdlensError

    monkeypatch.delenv("ADLENS_JUDGE_STRUCTURED_OUTPUT", raising=False)
    assert JudgeConfig().structured_output == "auto"
    monkeypatch.setenv("ADLENS_JUDGE_STRUCTURED_OUTPUT", "OFF")
    assert JudgeConfig().structured_output == "off"
    assert JudgeConfig().hashed()["structured_output"] == "off"
    assert JudgeConfig(structured_output="auto").structured_output == "auto"  # config wins
    monkeypatch.setenv("ADLENS_JUDGE_STRUCTURED_OUTPUT", "sometimes")
    with pytest.raises(AdlensError, match="ADLENS_JUDGE_STRUCTURED_OUTPUT='sometimes'"):
        JudgeConfig()
