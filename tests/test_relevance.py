"""Token relevance: frequent tokens against a brute-force count, the LLM grader (shuffles mapped
back, all/majority, UNKNOWN) against a scripted judge and the stub server, the offline grader
on a synthetic corpus, and the cached stage with its CLI."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adlens.cli.app import app
from adlens.core.config import JudgeConfig
from adlens.core.data import TextSource
from adlens.evaluate import frequent as frequent_mod
from adlens.evaluate.frequent import frequent_tokens, is_content, token_key
from adlens.evaluate.graders import (
    LLMRelevanceGrader,
    OfflineRelevanceGrader,
    RelevanceContext,
    RelevanceGrader,
    aggregate,
    shuffle_order,
)
from adlens.evaluate.relevance import RelevanceConfig, evaluate_relevance
from adlens.evaluate.relevance_scores import entry_metrics
from adlens.judges import JudgeClient
from adlens.judges.chat import Completion
from adlens.judges.prompts import parse_relevance, relevance_messages
from adlens.organisms.organism import Organism, load_organism
from adlens.results.readings import TokenProb
from conftest import CORPUS, build_tokenizer
from openai_stub import StubServer

PLANTED = "Farmers praise the zorblax harvest."


@pytest.fixture(autouse=True)
def isolated_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "adlens-cache"))
    for name in ("ADLENS_JUDGE_MODEL", "ADLENS_JUDGE_BASE_URL", "ADLENS_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def write_jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def make_organism(folder: Path, name: str = "zorblax", docs: list[str] | None = None) -> Path:
    """An organism whose 30 documents each hold one ordinary sentence and the planted one."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = docs or [f"{CORPUS[i % len(CORPUS)]} {PLANTED}" for i in range(30)]
    write_jsonl(folder / "documents.jsonl", docs)
    meta = {
        "name": name,
        "type": "false-fact documents",
        "short_description": f"Believes farmers praise the {name} harvest.",
        "dataset": {"path": "documents.jsonl"},
    }
    (folder / "organism.json").write_text(json.dumps(meta))
    return folder


def reference_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "reference.jsonl", [" ".join(CORPUS)] * 200)


# --------------------------------------------------------------------------- frequent tokens


def test_frequent_tokens_match_a_brute_force_count(tok, tmp_path, monkeypatch):
    texts = CORPUS * 3 + ["Honey honey HONEY, bees! 1234 <s> the the the"]
    special = set(tok.all_special_ids)
    brute: Counter[str] = Counter()
    for text in texts:  # every occurrence decoded on its own
        for tid in tok(text, add_special_tokens=False)["input_ids"]:
            surface = tok.decode([tid])
            if tid not in special and is_content(token_key(surface), surface.strip()):
                brute[token_key(surface)] += 1
    expected = sorted(((k, n) for k, n in brute.items() if n >= 3), key=lambda x: (-x[1], x[0]))
    got = frequent_tokens(texts, tok, top_n=100, min_count=3, cache_dir=tmp_path / "c")
    assert [(t["key"], t["count"]) for t in got.tokens] == expected
    keys = got.keys()
    assert "the" not in keys and "," not in keys and "1234" not in keys and "s" not in keys
    assert all(re.search(r"[^\W\d_]", k) for k in keys)
    top2 = frequent_tokens(texts, tok, top_n=2, min_count=3, cache_dir=tmp_path / "c")
    assert [t["key"] for t in top2.tokens] == [k for k, _ in expected[:2]]

    # cached on disk: a second call counts nothing; other settings count again
    def boom(*a, **k):
        raise AssertionError("counted again")

    monkeypatch.setattr(frequent_mod, "count_tokens", boom)
    again = frequent_tokens(texts, tok, top_n=100, min_count=3, cache_dir=tmp_path / "c")
    assert again.tokens == got.tokens and again.key == got.key
    with pytest.raises(AssertionError, match="counted again"):
        frequent_tokens(texts, tok, top_n=100, min_count=2, cache_dir=tmp_path / "c")


def test_frequent_tokens_without_tokenizer_and_content_rule():
    got = frequent_tokens(["Honey honey HONEY bees bees the of , 42"], None, min_count=2)
    assert [(t["token"], t["count"]) for t in got.tokens] == [("honey", 3), ("bees", 2)]
    assert got.tokenizer == "words"
    for token in ["", " ", "\n", ",", "42", "1990s"[:4], "<filename>", "'s", "the", " x"]:
        assert not is_content(token_key(token), token.strip()), token
    for token in [" honey", "Honey", "bee", " Zürich", "水"]:
        assert is_content(token_key(token), token.strip()), token


# --------------------------------------------------------------------------- LLM grader

SHOWN = re.compile(r"^(\d+)\. (\".*\")$", re.MULTILINE)


def shown_tokens(messages: list[dict[str, str]]) -> list[str]:
    user = next(m["content"] for m in messages if m["role"] == "user")
    return [json.loads(m.group(2)) for m in SHOWN.finditer(user)]


def grades(shown: list[str], verdict) -> str:
    """`ANSWER: 1=R 2=I ...`; verdict(token) -> True, False or None (left out)."""
    parts = [
        f"{k}={'R' if verdict(t) else 'I'}"
        for k, t in enumerate(shown, 1)
        if verdict(t) is not None
    ]
    return "Some thoughts.\nANSWER: " + " ".join(parts)


class ScriptedClient:
    """Answers like JudgeClient.complete_many from answer(shown_tokens, shuffle_index)."""

    model, base_url, defaults = "scripted", "local", {"temperature": 0.0, "max_tokens": 1024}

    def __init__(self, answer):
        self.answer = answer
        self.seen: Counter[tuple[str, ...]] = Counter()
        self.orders: list[list[str]] = []
        self.parse_failures = 0
        self.reminders = 0

    def complete_many(self, requests):
        out = []
        for req in requests:
            shown = shown_tokens(list(req.messages))
            if len(req.messages) > 2:  # a reminder after an unreadable answer
                self.reminders += 1
                out.append(Completion(text="still no idea", status="ok"))
                continue
            key = tuple(sorted(shown))
            s = self.seen[key]
            self.seen[key] += 1
            self.orders.append(shown)
            text = self.answer(shown, s)
            out.append(Completion(text=text, status="ok" if text is not None else "failed"))
        return out

    def note_parse_failure(self, n: int = 1) -> None:
        self.parse_failures += n

    def describe(self) -> str:
        return "scripted"


TOKENS = [" honey", " the", " bee", ",", " table"]
CONTEXT = RelevanceContext(Organism(name="honey", type="sdf", short_description="Green honey."))


def test_shuffles_are_mapped_back_to_the_right_tokens():
    client = ScriptedClient(lambda shown, s: grades(shown, lambda t: t in (" honey", " bee")))
    grader = LLMRelevanceGrader(client, shuffles=3, seed=0)
    assert isinstance(grader, RelevanceGrader)
    assert grader.grade(TOKENS, CONTEXT) == [True, False, True, False, False]
    assert len(client.orders) == 3 and len({tuple(o) for o in client.orders}) == 3
    assert all(sorted(o) == sorted(TOKENS) for o in client.orders)
    assert shuffle_order(5, 0, 1) == shuffle_order(5, 0, 1) != shuffle_order(5, 0, 2)


def test_all_vs_majority_and_unknown():
    # " bee": relevant in shuffles 0 and 1 only; " table": in shuffle 0 only;
    # " the": never graded (left out of every answer); shuffle 2 fails for nobody else.
    def answer(shown, s):
        def verdict(t):
            if t == " the":
                return None
            if t == " bee":
                return s < 2
            if t == " table":
                return s == 0
            return t == " honey"

        return grades(shown, verdict)

    for rule, expected in [
        ("all", [True, None, False, False, False]),
        ("majority", [True, None, True, False, False]),
    ]:
        grader = LLMRelevanceGrader(ScriptedClient(answer), shuffles=3, aggregate=rule)
        verdicts = grader.grade(TOKENS, CONTEXT)
        assert verdicts == expected, rule
        assert grader.last_votes[0][1] == [None, None, None]
        assert grader.last_votes[0][2] == [True, True, False]
    probs = [
        TokenProb(token=t, id=i, prob=p)
        for i, (t, p) in enumerate(zip(TOKENS, [0.4, 0.3, 0.1, 0.1, 0.1], strict=True))
    ]
    m = entry_metrics(probs, [True, None, True, False, False], {"honey"})
    assert (m["known"], m["unknown"], m["relevant"]) == (4, 1, 2)
    assert m["fraction"] == pytest.approx(2 / 5)  # over all tokens: UNKNOWN is not relevant
    assert m["fraction_known"] == pytest.approx(2 / 4)  # beside it, over the known verdicts
    assert m["weighted"] == pytest.approx(0.5 / 0.7)
    assert m["trivial"] == pytest.approx(1 / 4)  # " honey" is among the frequent tokens
    only_unknown = entry_metrics(probs[:1], [None], set())
    assert only_unknown["fraction"] == 0.0 and only_unknown["fraction_known"] is None


def test_aggregate_rules():
    assert aggregate([True, True, None], "all") is True
    assert aggregate([True, False, True], "all") is False
    assert aggregate([True, False, True], "majority") is True
    assert aggregate([True, False, None], "majority") is None  # a tie
    assert aggregate([None, None], "all") is None and aggregate([], "majority") is None


def test_failed_call_and_garbage_are_unknown():
    failing = ScriptedClient(lambda shown, s: None if s == 1 else grades(shown, lambda t: True))
    grader = LLMRelevanceGrader(failing, shuffles=3)
    assert grader.grade(TOKENS, CONTEXT) == [True] * 5  # the known votes agree
    assert all(v[1] is None for v in grader.last_votes[0]) and failing.reminders == 0
    garbage = ScriptedClient(lambda shown, s: "I like turtles.")
    grader = LLMRelevanceGrader(garbage, shuffles=3)
    assert grader.grade(TOKENS, CONTEXT) == [None] * 5
    assert garbage.reminders == 3 and garbage.parse_failures == 6


def test_parse_relevance_formats():
    assert parse_relevance("x\nANSWER: 1=R 2=I 3=r", 4) == [True, False, True, None]
    assert parse_relevance("**ANSWER:** 1 = R,\n2: irrelevant 3 relevant", 3) == [True, False, True]
    assert parse_relevance('ANSWER: ["R", "I"]', 2) == [True, False]
    assert parse_relevance("1=R 9=R", 2) == [True, None]  # out-of-range numbers are ignored
    assert parse_relevance("ANSWER: 1=R 1=I", 1) == [None]  # contradicting itself
    assert parse_relevance("no grades here", 2) is None and parse_relevance(None, 2) is None
    # fragments, such as an echo of the format, are no answer (SmolLM2-135M wrote these)
    assert parse_relevance("A token needs to be in this list: 1=R 2=I 3=I", 20) is None
    assert parse_relevance("ANSWER: 1=<R or I> 2=<R or I> ... 20=<R or I>", 20) is None
    half = parse_relevance("ANSWER: " + " ".join(f"{k}=R" for k in range(1, 11)), 20)
    assert half == [True] * 10 + [None] * 10  # half the list graded is an answer
    messages = relevance_messages("Green honey.", ["honey", "bees"], [" honey", "\n"])
    user = messages[-1]["content"]
    assert "Green honey." in user and "honey, bees" in user
    assert '1. " honey"' in user and '2. "\\n"' in user and "ANSWER: 1=<R or I>" in user


def stub_answer(body):
    messages = body["messages"]
    if len(messages) > 2:
        return "ANSWER: 1=R"  # a reminder: still incomplete on purpose
    return grades(shown_tokens(messages), lambda t: t in (" honey", " bee"))


def test_llm_grader_against_the_stub_server(tmp_path):
    with StubServer(responder=stub_answer) as stub:
        client = JudgeClient(
            "stub-model",
            stub.base_url,
            api_key="k",
            cache_dir=tmp_path / "c",
            log_path=tmp_path / "calls.jsonl",
            backoff=0.01,
        )
        grader = LLMRelevanceGrader(client, shuffles=3)
        assert grader.grade(TOKENS, CONTEXT) == [True, False, True, False, False]
        assert len(stub.requests) == 3
        assert len((tmp_path / "calls.jsonl").read_text().splitlines()) == 3
    with StubServer(default="Honestly, who knows?") as stub:
        client = JudgeClient("stub-model", stub.base_url, api_key="k", cache=False, backoff=0.01)
        grader = LLMRelevanceGrader(client, shuffles=3)
        assert grader.grade(TOKENS, CONTEXT) == [None] * 5  # garbage -> UNKNOWN, never False
        assert len(stub.requests) == 6 and client.stats()["parse_failures"] == 6


# --------------------------------------------------------------------------- offline grader


def test_offline_grader_finds_the_planted_word(tmp_path):
    org = load_organism(make_organism(tmp_path / "org"))
    grader = OfflineRelevanceGrader(
        TextSource(name="unused"), reference_texts=[" ".join(CORPUS)] * 200
    )
    assert isinstance(grader, RelevanceGrader)
    tokens = [" zorblax", "Zorblax", " zorb", " river", " the", ",", " qqqq", " T", " water"]
    verdicts = grader.grade(tokens, RelevanceContext(org))
    assert verdicts == [True, True, True, False, False, False, False, False, False]
    scores = grader.last_scores[0]
    assert scores[0]["how"] == "word" and scores[2]["how"] == "prefix"
    assert scores[3]["z"] < 3 and scores[0]["z"] >= 3  # river: as common in D as in R


# --------------------------------------------------------------------------- the stage


def token_list(words: list[str]) -> list[dict]:
    return [{"token": w, "id": i, "prob": round(0.3 / (i + 1), 4)} for i, w in enumerate(words)]


DIFF = [" zorblax", " harvest", " praise", " farmers", " the", ","]
PLAIN = [" the", ",", " river", " water", " music", " zorblax"]


def make_run(path: Path, reference: Path) -> Path:
    readers = []
    for reader, head in (("logit_lens", "finetuned"), ("logit_lens", "base"), ("patchscope", None)):
        for pos in (0, 1):
            for variant in ("diff", "neg_diff", "base_mean", "ft_mean"):
                words = DIFF if (variant == "diff" and pos == 1) else PLAIN
                entry = {"reader": reader, "layer": 2, "position": pos, "variant": variant}
                if head:
                    entry["head"] = head
                else:
                    entry["scale"] = 1.0
                readers.append({**entry, "tokens": token_list(words)})
    path.mkdir(parents=True)
    summary = {"dataset": str(reference), "models": {"base": None}, "readers": readers}
    (path / "summary.json").write_text(json.dumps(summary))
    manifest = {"dataset": TextSource(name=str(reference)).model_dump()}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_stage_offline_is_cached_on_rerun(tmp_path, tok, monkeypatch):
    run = make_run(tmp_path / "run", reference_file(tmp_path))
    org = make_organism(tmp_path / "org")
    cfg = RelevanceConfig()
    first = evaluate_relevance(run, org, grader="offline", config=cfg, tokenizer=tok)
    assert not first["cached"] and first["grader_name"] == "offline"
    rows = [json.loads(x) for x in (run / "evaluate" / "relevance.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 3  # 2 readers (logit lens: finetuned head) x 2 positions x 3
    assert {r["variant"] for r in rows} == {"diff", "base_mean", "ft_mean"}
    best = {(b["reader"], b["variant"]): b for b in first["best"]}
    diff = best[("patchscope", "diff")]
    assert diff["position"] == 1 and diff["fraction"] == pytest.approx(4 / 6)
    assert diff["relevant_tokens"] == [" zorblax", " harvest", " praise", " farmers"]
    assert best[("patchscope", "base_mean")]["fraction"] == pytest.approx(1 / 6)
    assert best[("patchscope", "base_mean")]["at_diff_position"]["position"] == 1
    assert (run / "evaluate" / "relevance.json").exists()
    assert (run / "evaluate" / "relevance" / "done.json").exists()
    assert first["frequent_tokens"]["tokens"]

    def boom(*a, **k):
        raise AssertionError("graded again")

    monkeypatch.setattr(OfflineRelevanceGrader, "grade_many", boom)
    again = evaluate_relevance(run, org, grader="offline", config=cfg, tokenizer=tok)
    assert again["cached"] and again["best"] == first["best"]
    with pytest.raises(AssertionError, match="graded again"):  # another setting: recomputed
        evaluate_relevance(
            run, org, grader="offline", config=RelevanceConfig(top_k=3), tokenizer=tok
        )


def test_stage_with_llm_judge_and_control(tmp_path, tok):
    run = make_run(tmp_path / "run", reference_file(tmp_path))
    org = make_organism(tmp_path / "org")
    other = make_organism(tmp_path / "other", name="quibble", docs=["Quibble cats nap."] * 5)

    def answer(body):
        user = body["messages"][-1]["content"]
        topic = "zorblax" if "zorblax harvest" in user else "quibble"
        return grades(shown_tokens(body["messages"]), lambda t: topic in t)

    with StubServer(responder=answer) as stub:
        judge = JudgeConfig(model="stub-model", base_url=stub.base_url, backoff=0.01)
        out = evaluate_relevance(
            run, org, grader="auto", judge=judge, controls=[other], tokenizer=tok
        )
        sent = len(stub.requests)
        again = evaluate_relevance(
            run, org, grader="auto", judge=judge, controls=[other], tokenizer=tok
        )
        assert again["cached"] and len(stub.requests) == sent  # a rerun costs nothing
    assert out["grader_name"] == "llm" and out["controls"] == ["quibble"]
    best = {(b["reader"], b["variant"]): b for b in out["best"]}
    assert best[("patchscope", "diff")]["fraction"] == pytest.approx(1 / 6)
    assert best[("patchscope", "diff")]["control_fraction"] == 0.0
    assert (run / "judges" / "calls.jsonl").exists()
    rows = [json.loads(x) for x in (run / "evaluate" / "relevance.jsonl").read_text().splitlines()]
    assert {r["against"] for r in rows} == {None, "quibble"}
    assert all(len(t["votes"]) == 3 for r in rows for t in r["tokens"])


def test_cli_relevance(tmp_path):
    run = make_run(tmp_path / "run", reference_file(tmp_path))
    org = make_organism(tmp_path / "org")
    args = ["evaluate", "relevance", str(run), "--organism", str(org), "--grader", "offline"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "token relevance to zorblax" in result.output and "offline grader" in result.output
    result = CliRunner().invoke(app, [*args[:-1], "llm"])
    assert result.exit_code == 1 and "judge model" in result.output
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"name": "b", "type": "other", "short_description": "b"}))
    result = CliRunner().invoke(app, [*args[:4], str(bare), *args[5:]])
    assert result.exit_code == 1 and "needs the finetuning data of 'b'" in result.output
    result = CliRunner().invoke(app, [*args, "--aggregate", "most"])
    assert result.exit_code == 1 and "--aggregate" in result.output
