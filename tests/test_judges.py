"""Judges: the OpenAI-compatible client against a real stub server on 127.0.0.1, the parsers,
the LLM judges, the offline coherence judge and the factory."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time

import pytest
import torch

from adlens.core.config import JudgeConfig, RunConfig
from adlens.core.models import ModelPair
from adlens.errors import AdlensError
from adlens.judges import (
    UNKNOWN,
    ChatRequest,
    CoherenceJudge,
    ContentStability,
    JudgeClient,
    LLMCoherenceJudge,
    OfflineCoherenceJudge,
    ScaleChooser,
    TournamentScaleChooser,
    make_judges,
)
from adlens.judges.llm import split_groups
from adlens.judges.offline import fence, text_measures
from adlens.judges.prompts import (
    coherence_messages,
    parse_choice,
    parse_coherence,
    tournament_messages,
)
from conftest import CORPUS, tiny_model
from openai_stub import Reply, StubServer

KEY = "sk-test-SECRET-123"
ENV_VARS = (
    "ADLENS_JUDGE_MODEL",
    "ADLENS_JUDGE_BASE_URL",
    "ADLENS_JUDGE_API_KEY",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_BASE_URL",
)


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
        api_key=KEY,
        timeout=5.0,  # the timeout tests set 0.5 s
        max_retries=2,
        backoff=0.01,
        cache_dir=tmp_path / "cache",
        log_path=tmp_path / "judges" / "calls.jsonl",
    )
    opts.update(kw)
    return JudgeClient("stub-model", stub.base_url, **opts)


def log_rows(tmp_path):
    path = tmp_path / "judges" / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


# --------------------------------------------------------------------------- client


def test_success_usage_log_and_no_key_in_log(stub, tmp_path):
    stub.push(Reply("hello", prompt_tokens=100, completion_tokens=20))
    client = make_client(stub, tmp_path, price_input_per_m=2.0, price_output_per_m=10.0)
    (done,) = client.complete_many([ChatRequest.user("hi", system="be brief")])
    assert done.ok and done.text == "hello" and done.attempts == 1 and not done.cached
    assert (done.prompt_tokens, done.completion_tokens) == (100, 20)
    (req,) = stub.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"  # the key is sent ...
    assert req.body["model"] == "stub-model" and req.body["temperature"] == 0.0
    assert req.messages[-1] == {"role": "user", "content": "hi"}
    stats = client.stats()
    assert stats["calls"] == 1 and stats["prompt_tokens"] == 100
    assert stats["cost"] == pytest.approx((100 * 2 + 20 * 10) / 1e6) and stats["cost_known"]
    text = (tmp_path / "judges" / "calls.jsonl").read_text()
    assert KEY not in text and "authorization" not in text.lower()  # ... and never logged
    (row,) = log_rows(tmp_path)
    assert row["response"] == "hello" and row["status"] == "ok" and row["attempts"] == 1
    assert row["messages"][-1]["content"] == "hi" and row["cache_hit"] is False
    assert KEY not in repr(client)
    assert not any(KEY in p.read_text() for p in (tmp_path / "cache").rglob("*.json"))


@pytest.mark.parametrize("code", [429, 500, 503])
def test_retries_then_success(stub, tmp_path, code):
    stub.push(Reply.status(code, retry_after=0.05), Reply("fine"))
    client = make_client(stub, tmp_path)
    (done,) = client.complete_many([ChatRequest.user("hi")])
    assert done.text == "fine" and done.attempts == 2
    assert done.latency_s >= 0.05  # Retry-After was honoured
    assert len(stub.requests) == 2 and client.stats()["retries"] == 1
    (row,) = log_rows(tmp_path)
    assert row["attempts"] == 2 and str(code) in row["retry_errors"][0]


def test_retry_after_parsing():
    from adlens.judges.client import _retry_after

    assert _retry_after({"retry-after": "2"}, cap=60) == 2.0
    assert _retry_after({"retry-after": "120"}, cap=60) == 60.0  # capped
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}, cap=60) == 0.25
    assert _retry_after({"retry-after": "soon"}, cap=60) is None
    assert _retry_after({}, cap=60) is None


def test_client_error_is_not_retried(stub, tmp_path):
    stub.push(Reply.status(400))
    client = make_client(stub, tmp_path)
    (done,) = client.complete_many([ChatRequest.user("hi")])
    assert not done.ok and done.http_status == 400 and len(stub.requests) == 1


def test_auth_error_is_one_clear_error(stub, tmp_path):
    stub.push(Reply.status(401))
    with pytest.raises(AdlensError, match="ADLENS_JUDGE_API_KEY"):
        make_client(stub, tmp_path).complete_many([ChatRequest.user("hi")])


def test_timeout_then_success(stub, tmp_path):
    stub.push(Reply.slow(1.0), Reply("late but fine"))
    client = make_client(stub, tmp_path, timeout=0.5)
    (done,) = client.complete_many([ChatRequest.user("hi")])
    assert done.text == "late but fine" and done.attempts == 2
    assert "timeout" in log_rows(tmp_path)[0]["retry_errors"][0]


def test_all_timeouts_give_unknown_never_false(stub, tmp_path):
    stub.push(Reply.slow(1.0, "ANSWER: INCOHERENT"), Reply.slow(1.0, "ANSWER: INCOHERENT"))
    client = make_client(stub, tmp_path, timeout=0.5, max_retries=1)
    judge = LLMCoherenceJudge(client)
    assert judge.judge_coherence(["p"], ["c"]) == [UNKNOWN]
    stats = client.stats()
    assert stats["failures"] == 1 and stats["calls"] == 2 and stats["retries"] == 1
    assert log_rows(tmp_path)[0]["status"] == "failed"
    assert not list((tmp_path / "cache").rglob("*.json"))  # failures are never cached


def test_connection_refused_is_a_failure(tmp_path):
    with StubServer() as dead:
        url = dead.base_url
    client = JudgeClient("m", url, timeout=0.5, max_retries=1, backoff=0.01, cache=False)
    (done,) = client.complete_many([ChatRequest.user("hi")])
    assert not done.ok and "connection" in done.error and done.attempts == 2


def test_cache_hit_sends_nothing(stub, tmp_path):
    prompts, completions = ["a", "b", "c"], ["x", "y", "z"]

    # requests run concurrently, so answer by content, not by arrival order
    def answer(body):
        bad = "<<<\ny\n>>>" in body["messages"][-1]["content"]
        return "ANSWER: INCOHERENT" if bad else "ANSWER: COHERENT"

    stub.responder = answer
    first = LLMCoherenceJudge(make_client(stub, tmp_path)).judge_coherence(prompts, completions)
    assert first == [True, False, True] and len(stub.requests) == 3
    stub.requests.clear()
    client = make_client(stub, tmp_path)  # a rerun: a new client, same cache dir
    again = LLMCoherenceJudge(client).judge_coherence(prompts, completions)
    assert again == first and stub.requests == []
    assert client.stats()["cache_hits"] == 3 and client.stats()["calls"] == 0
    assert all(r["cache_hit"] for r in log_rows(tmp_path)[3:])


def test_cache_key_covers_sampling_but_not_the_key(stub, tmp_path):
    client = make_client(stub, tmp_path)
    req = ChatRequest.user("hi", temperature=1.0)
    keys = {
        client.key(req),
        client.key(ChatRequest.user("hi", temperature=1.0, sample_index=1)),
        client.key(ChatRequest.user("hi", temperature=0.5)),
        client.key(ChatRequest.user("hi", temperature=1.0, max_tokens=5)),
        client.key(ChatRequest.user("hi", temperature=1.0, params={"top_p": 0.9})),
    }
    assert len(keys) == 5
    other = make_client(stub, tmp_path, api_key="sk-another")
    assert other.key(req) == client.key(req)
    # identical requests in one batch are sent once
    out = client.complete_many([req, req, ChatRequest.user("hi", temperature=1.0, sample_index=1)])
    assert len(stub.requests) == 2 and out[0].text == out[1].text


def test_concurrency_limit_and_order(stub, tmp_path):
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def answer(body):  # counts requests in flight on the server side: no timing assertions
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
        return body["messages"][-1]["content"].upper()

    stub.responder = answer
    client = make_client(stub, tmp_path, concurrency=3)
    out = client.complete_many([ChatRequest.user(f"m{i}") for i in range(8)])
    assert [c.text for c in out] == [f"M{i}" for i in range(8)]
    assert 2 <= state["max"] <= 3


def test_works_inside_a_running_loop(stub, tmp_path):
    client = make_client(stub, tmp_path)

    async def notebook_cell():
        return client.complete_many([ChatRequest.user("hi")])

    (done,) = asyncio.run(notebook_cell())
    assert done.ok


def test_key_resolution(monkeypatch, tmp_path):
    with pytest.raises(AdlensError, match="ADLENS_JUDGE_API_KEY"):
        JudgeClient("m", "https://api.example.com/v1", cache=False)
    with pytest.raises(AdlensError, match="OPENROUTER_API_KEY"):
        JudgeClient("m", "https://openrouter.ai/api/v1", cache=False)
    with pytest.raises(AdlensError, match="MY_KEY"):
        JudgeClient("m", "https://api.example.com/v1", api_key_env="MY_KEY", cache=False)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or")
    assert JudgeClient("m", "https://openrouter.ai/api/v1", cache=False)._api_key == "sk-or"
    monkeypatch.setenv("ADLENS_JUDGE_API_KEY", "sk-adlens")
    assert JudgeClient("m", "https://openrouter.ai/api/v1", cache=False)._api_key == "sk-adlens"
    JudgeClient("m", "http://localhost:8000/v1", cache=False)  # local: no key needed


def test_local_server_without_key(stub, tmp_path):
    client = JudgeClient("m", stub.base_url, cache_dir=tmp_path / "c")
    assert client.complete(ChatRequest.user("hi")).ok


# --------------------------------------------------------------------------- parsers and prompts


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("Looks fine.\nANSWER: COHERENT", True),
        ("Broken.\nANSWER: INCOHERENT", False),
        ("**Answer:** incoherent.", False),
        ("ANSWER: `Coherent`\n\n  ", True),
        ("answer:coherent!", True),
        ("Reasoning ... ANSWER: INCOHERENT\nHope this helps!", False),
        ("COHERENT", True),
        ("The text is coherent.", None),
        # verdicts stated in a sentence, as SmolLM2-135M writes them
        ("The continuation is indeed COHERENT as it reads like sensible text.", True),
        ("Thinking...\nSo this one is INCOHERENT: a loop of one word.", False),
        ("The continuation is not COHERENT.", None),  # a negation: never guessed
        ("It isn't INCOHERENT, I think.", None),
        ("It is COHERENT, or rather INCOHERENT.", None),  # both labels
        ("The LAST line of your reply must be exactly `ANSWER: INCOHERENT` or `ANSWER:", None),
        ("ANSWER: maybe", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_coherence(text, verdict):
    assert parse_coherence(text) is verdict


@pytest.mark.parametrize(
    "text, n, choice",
    [
        ("ANSWER: 3", 10, 3),
        ("List 2 is about food.\n**ANSWER: 7**", 10, 7),
        ("ANSWER: List 2.", 10, 2),
        ("ANSWER: #4", 10, 4),
        ("ANSWER: 11", 10, None),
        ("ANSWER: 0", 10, None),
        ("ANSWER: three", 10, None),
        ("I pick 3", 10, None),
        ("Thinking.\n3", 10, 3),
        # what SmolLM2-135M wrote: list items repeated and the format echoed, not choices
        ('1. "honey"\n3. "the"', 10, None),
        ('The last line must be exactly `ANSWER: 10`".', 10, None),
        ("ANSWER: <number>", 10, None),
    ],
)
def test_parse_choice(text, n, choice):
    assert parse_choice(text, n) == choice


def test_prompts_end_with_the_label_instruction():
    msgs = coherence_messages("Tell me about bees.", "Bees make honey.")
    assert msgs[-1]["content"].rstrip().endswith("ANSWER: INCOHERENT")
    assert "Bees make honey." in msgs[-1]["content"]
    lists = [[{"token": " cake", "id": 1}], [{"token": "\n", "id": 2}]]
    user = tournament_messages(lists)[-1]["content"]
    assert '1. " cake"' in user and '2. "\\n"' in user and "ANSWER: <number>" in user


# --------------------------------------------------------------------------- LLM judges


def test_garbage_answer_is_retried_once_then_unknown(stub, tmp_path):

    def answer(body):  # c1: never a label; c2: a label once reminded
        reminded = len(body["messages"]) > 2
        c2 = "<<<\nc2\n>>>" in body["messages"][1]["content"]
        return "ANSWER: COHERENT" if reminded and c2 else "I cannot say."

    stub.responder = answer
    client = make_client(stub, tmp_path)
    judge = LLMCoherenceJudge(client)
    assert isinstance(judge, CoherenceJudge)
    assert judge.judge_coherence(["p1", "p2"], ["c1", "c2"]) == [UNKNOWN, True]
    assert len(stub.requests) == 4
    reminder = stub.requests[2]
    assert reminder.messages[-2]["role"] == "assistant"
    assert "ANSWER: COHERENT" in reminder.user_text and "could not find" in reminder.user_text
    assert client.stats()["parse_failures"] == 3


def _lists(n, special=None):
    out = []
    for i in range(n):
        tokens = [{"token": f" w{i}x{k}", "id": 1000 * i + k, "prob": 0.01} for k in range(3)]
        if i == special:
            tokens[0] = {"token": " cake", "id": 7, "prob": 0.5}
        out.append(tokens)
    return out


def _pick_cake(body):
    """The list holding " cake", else the first one."""
    user = body["messages"][-1]["content"]
    for line in user.splitlines():
        head, _, rest = line.partition(". ")
        if head.isdigit() and '" cake"' in rest:
            return f"List {head} is about food.\nANSWER: {head}"
    return "Nothing stands out.\nANSWER: 1"


def test_tournament_groups_and_final(stub, tmp_path):
    assert [len(g) for g in split_groups(list(range(25)), 10)] == [9, 8, 8]
    assert [len(g) for g in split_groups(list(range(30)), 10)] == [10, 10, 10]
    stub.responder = _pick_cake
    chooser = TournamentScaleChooser(make_client(stub, tmp_path))
    assert isinstance(chooser, ScaleChooser)
    best, scores = chooser.choose(_lists(25, special=17))
    # groups 0-8, 9-16, 17-24: winners 0, 9 (first of their groups) and 17; final picks 17.
    # The scores are the offline chooser's, comparable across positions (not 1.0 per winner).
    assert best == 17 and scores == ContentStability(None).choose(_lists(25, special=17))[1]
    listed = [
        sum(line[:2].rstrip(".").isdigit() for line in r.user_text.splitlines())
        for r in stub.requests
    ]
    assert sorted(listed) == [3, 8, 8, 9] and listed[-1] == 3  # three groups, then the final
    assert '3. " cake"' in stub.requests[-1].user_text


def test_tournament_single_group_has_no_final(stub, tmp_path):
    stub.responder = _pick_cake
    best, scores = TournamentScaleChooser(make_client(stub, tmp_path)).choose(_lists(6, 4))
    assert best == 4 and len(stub.requests) == 1
    assert scores == ContentStability(None).choose(_lists(6, 4))[1]


def test_tournament_unknown_group_falls_back_offline(stub, tmp_path, caplog):
    lists = _lists(12)
    # list 3 has content words that persist over its neighbours: ContentStability's pick
    for i in (2, 3, 4):
        lists[i] = [{"token": w, "id": j, "prob": 0.1} for j, w in enumerate([" bread", " cake"])]
    lists[3].append({"token": " pie", "id": 9, "prob": 0.1})

    def answer(body):  # group 1 never answers readably, group 2 picks its 2nd list, final 1st
        seen = " ".join(m["content"] for m in body["messages"])
        if '" w0x0"' in seen:
            return "no idea"
        return "ANSWER: 2" if '" w6x0"' in seen else "ANSWER: 1"

    stub.responder = answer
    chooser = TournamentScaleChooser(make_client(stub, tmp_path))
    with caplog.at_level(logging.WARNING, logger="adlens.judges.llm"):
        best, scores = chooser.choose(lists)
    offline_pick = max(range(6), key=ContentStability(None).choose(lists)[1].__getitem__)
    assert offline_pick in (2, 3, 4)
    assert chooser.last_rounds[0][0] == {
        "members": [0, 1, 2, 3, 4, 5],
        "winner": offline_pick,
        "source": "offline",
    }
    assert best == offline_pick and scores == ContentStability(None).choose(lists)[1]
    assert scores[offline_pick] > scores[7]  # the winner of a position scores by its content
    assert "offline content-stability" in caplog.text


# --------------------------------------------------------------------------- offline judge

VARIED = [
    "The river flows past the old mill and into the valley where farmers grow wheat.",
    "She opened the letter slowly, unsure whether the news would change her plans.",
    "Most bridges in the city were built after the war, using steel from the north.",
    "He cooked a simple dinner of rice and beans, then read until the lamp went out.",
    "Our team measured rainfall at six stations and compared it with older records.",
    "A small dog barked at the mail carrier, who laughed and tossed it a biscuit.",
]
LOOP = "honey " * 40
CYCLE = "I love the cake. " * 12


def test_text_measures_separate_loops_from_varied_text():
    varied = [text_measures(t) for t in VARIED]
    assert all(m["repetition"] == 0 and m["max_run"] == 1 for m in varied)
    loop, cycle = text_measures(LOOP), text_measures(CYCLE)
    assert loop["max_run"] == 40 and loop["repetition"] > 0.9 and loop["distinct1"] < 0.05
    assert cycle["max_run"] == 1 and cycle["repetition"] > 0.8  # no run, but a loop
    assert text_measures("")["n_words"] == 0
    # the fence: Q3 + 1.5 IQR, never closer to the median than the floor
    assert fence([1.0, 1.0, 1.0, 1.0], "nll") == 2.0
    assert fence([1.0, 2.0, 3.0, 4.0, 5.0], "nll") == pytest.approx(4.0 + 1.5 * 2.0)


def _fake_nll(prompts, completions):
    """Stands in for a model: word soup (no spaces between letters and digits) is improbable."""
    return [math.nan if not c.strip() else (8.0 if "#" in c else 3.0) for c in completions]


def test_offline_judge_decides_from_calibration():
    judge = OfflineCoherenceJudge(nll_fn=_fake_nll)
    assert isinstance(judge, CoherenceJudge)
    with pytest.raises(AdlensError, match="calibrate"):
        judge.judge_coherence(["p"], ["text"])
    with pytest.raises(AdlensError, match="at least"):
        judge.calibrate(["p"], ["a b c"])
    judge.calibrate(["p"] * len(VARIED), VARIED)
    assert judge.thresholds["nll"] == pytest.approx(4.0)
    soup = "qz# vlo# prt# ank# zzt# mub# ork#"
    texts = [*VARIED, LOOP, CYCLE, soup, ""]
    verdicts = judge.judge_coherence(["p"] * len(texts), texts)
    assert verdicts == [True] * len(VARIED) + [False, False, False, False]
    reasons = [s["reasons"] for s in judge.last_scores[-4:]]
    assert "max_run" in reasons[0] and "repetition" in reasons[1]
    assert reasons[2] == ["nll"] and reasons[3] == ["empty"]


@pytest.fixture(scope="module")
def tiny_pair(tokenizer):
    model = tiny_model("llama", len(tokenizer), seed=3)
    return ModelPair(finetuned=model, tokenizer=tokenizer, base_model=model)


def test_offline_nll_matches_unbatched_forward(tiny_pair):
    tok = tiny_pair.tokenizer
    judge = OfflineCoherenceJudge(tiny_pair, batch_size=3)
    assert judge.chat  # the tiny tokenizer has a chat template
    prompts, completions = CORPUS[:4], [CORPUS[5], "Bees.", CORPUS[2][:30], ""]
    got = judge.nll(prompts, completions)
    assert math.isnan(got[3])
    for p, c, nll in zip(prompts[:3], completions[:3], got[:3], strict=True):
        ctx = tok.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True
        )
        ctx = list(ctx["input_ids"] if hasattr(ctx, "keys") else ctx)
        comp = tok(c, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([ctx + comp])
        with torch.no_grad():
            logits = tiny_pair.finetuned(input_ids=ids).logits[0, len(ctx) - 1 : -1]
        expected = torch.nn.functional.cross_entropy(logits, torch.tensor(comp)).item()
        assert nll == pytest.approx(expected, abs=1e-4)


def test_offline_judge_on_tiny_model(tiny_pair):
    judge = OfflineCoherenceJudge(tiny_pair)
    prompts = ["Tell me something."] * len(CORPUS)
    judge.calibrate(prompts, CORPUS)
    assert judge.calibration["n"] == len(CORPUS)
    verdicts = judge.judge_coherence(prompts[:3], [CORPUS[0], LOOP, CYCLE])
    assert verdicts == [True, False, False]
    assert judge.last_scores[1]["max_run"] == 40 and not math.isnan(judge.last_scores[1]["nll"])


# --------------------------------------------------------------------------- factory and config


def test_factory_picks_offline_without_a_model(tiny_pair):
    judges = make_judges(None, pair=tiny_pair)
    assert judges.offline and judges.client is None
    assert isinstance(judges.coherence, OfflineCoherenceJudge)
    assert isinstance(judges.scale_chooser, ContentStability)
    assert "offline" in judges.describe() and "ADLENS_JUDGE_MODEL" in judges.describe()
    assert judges.fingerprint() == {"backend": "offline"}
    assert judges.needs_calibration
    judges.calibrate(["Say something."] * 4, CORPUS[:4])
    assert not judges.needs_calibration
    with pytest.raises(AdlensError, match="pair"):
        make_judges(None, pair=None)


def test_factory_picks_openai_when_model_is_set(monkeypatch, stub, tiny_pair, tmp_path):
    monkeypatch.setenv("ADLENS_JUDGE_MODEL", "judge-1")
    monkeypatch.setenv("ADLENS_JUDGE_BASE_URL", stub.base_url)
    judges = make_judges(JudgeConfig(), pair=tiny_pair, log_path=tmp_path / "calls.jsonl")
    assert not judges.offline and isinstance(judges.coherence, LLMCoherenceJudge)
    assert isinstance(judges.scale_chooser, TournamentScaleChooser)
    assert judges.describe() == f"judges: openai-compatible model judge-1 at {stub.base_url}"
    assert not judges.needs_calibration
    judges.calibrate(["p"], ["c"])  # a no-op: sends nothing
    assert stub.requests == []
    assert judges.coherence.judge_coherence(["p"], ["c"]) == [True]
    assert stub.requests[0].body["model"] == "judge-1"
    assert (tmp_path / "calls.jsonl").exists()
    # the config overrides the environment; "offline" wins over a configured model
    assert make_judges(JudgeConfig(backend="offline"), pair=tiny_pair).offline


def test_factory_remote_without_key_names_the_variable(monkeypatch):
    monkeypatch.setenv("ADLENS_JUDGE_MODEL", "gpt-x")
    with pytest.raises(AdlensError, match="ADLENS_JUDGE_API_KEY"):
        make_judges(JudgeConfig(), pair=None)
    with pytest.raises(AdlensError, match="MY_JUDGE_KEY"):
        make_judges(JudgeConfig(base_url="https://x.example/v1", api_key_env="MY_JUDGE_KEY"))
    monkeypatch.delenv("ADLENS_JUDGE_MODEL")
    with pytest.raises(AdlensError, match="ADLENS_JUDGE_MODEL"):
        make_judges(JudgeConfig(backend="openai"))


def test_run_config_has_judge_section():
    cfg = RunConfig(models={"finetuned": "x"}, judge={"model": "m", "concurrency": 2})
    assert cfg.judge.model == "m" and cfg.judge.concurrency == 2
    assert RunConfig(models={"finetuned": "x"}).judge.backend == "auto"
    assert "concurrency" not in cfg.judge.hashed()
    with pytest.raises(ValueError):
        JudgeConfig(api_key="sk-never-in-config")


# --------------------------------------------------------------------------- judge check


def test_judge_check_counting():
    from adlens.studies.judge_figures import (
        JudgeFigures,
        acted_replies,
        agreement,
        check_table,
        spread,
    )

    assert agreement([True, None, False, True], [True, True, None, False]) == (2, 1)
    assert spread(list(range(10)), 3) == [0, 4, 9] and spread([1, 2], 5) == [1, 2]
    rows = [
        {"type": "llm_call", "status": "ok"},  # a plain reply: not acted on
        {"type": "message"},
        {"type": "llm_call", "status": "ok"},
        {"type": "tool", "error": "unknown tool"},  # a malformed call is no action
        {"type": "tool", "error": None},
        {"type": "tool", "error": None},  # one reply, two calls: acted on once
        {"type": "llm_call", "status": "failed"},
        {"type": "llm_call", "status": "ok"},
        {"type": "end", "hypothesis": "bees"},  # the final answer
    ]
    assert acted_replies(rows) == (4, 2)
    fig = JudgeFigures("coherence", requests=4, answers=3, items=4, unknown=1, compared=3, agree=2)
    table = check_table({"judge": "j", "organism": "o", "rows": [fig.to_json()]})
    assert "| coherence | 3/4 (75%) | 4 | 1 |" in table and "67% of 3" in table
