"""Judges backed by an LLM through `JudgeClient`: coherence verdicts and the Patchscope scale
tournament."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from adlens.core.protocols import UNKNOWN, Verdict
from adlens.core.scale_choice import ContentStability
from adlens.judges.chat import ChatRequest, Completion
from adlens.judges.client import JudgeClient
from adlens.judges.prompts import (
    COHERENCE_REMINDER,
    TOURNAMENT_REMINDER,
    coherence_messages,
    parse_choice,
    parse_coherence,
    tournament_messages,
)
from adlens.judges.schemas import COHERENCE, read_answer, tournament_schema
from adlens.judges.structured import count, role_of

log = logging.getLogger(__name__)


def ask_with_reminder(
    client: JudgeClient,
    requests: Sequence[ChatRequest],
    parsers: Sequence[Callable[[str | None], Any]],
    reminder: str,
) -> tuple[list[Any], list[Completion]]:
    """Send `requests` and parse each answer with its parser. An answer with no readable label
    that stopped at its token limit (a reasoning model may spend them all thinking) is first
    asked again with twice the tokens (up to the client's cap); one still unreadable is asked
    once more, with the model's reply and `reminder` appended (a new request, so a new cache
    key). A failed call is not asked again: the client already retried it. A None that
    remains is UNKNOWN; the client counts those whose answer was cut, and per role (the tag's
    first part) the answers, structured ones and unreadable ones.

    A request with a schema whose answer came back structured is read by `read_answer`: JSON
    validated by the schema, an answer that is not JSON by its text parser."""
    requests = list(requests)
    answers = client.complete_many(requests)

    def read(i: int, answer: Completion) -> Any:
        schema = requests[i].schema
        if answer.structured and schema is not None:
            return read_answer(answer.text, schema, parsers[i])
        return parsers[i](answer.text)

    parsed = [read(i, a) for i, a in enumerate(answers)]
    longer = {
        i: grown
        for i, (a, p) in enumerate(zip(answers, parsed, strict=True))
        if a.ok and p is None and a.truncated and (grown := client.longer(requests[i]))
    }
    if longer:
        for i, answer in zip(longer, client.complete_many(list(longer.values())), strict=True):
            requests[i], answers[i] = longer[i], answer
            parsed[i] = read(i, answer)
    again = [i for i, (a, p) in enumerate(zip(answers, parsed, strict=True)) if a.ok and p is None]
    for i, a in enumerate(answers):
        if a.ok:
            count(client, role_of(requests[i].tag), answers=1, structured=bool(a.structured))
    for i in again:
        count(client, role_of(requests[i].tag), unreadable=1)
    if not again:
        return parsed, answers
    client.note_parse_failure(len(again))
    retries = [_with_reminder(requests[i], answers[i], reminder) for i in again]
    for i, answer in zip(again, client.complete_many(retries), strict=True):
        answers[i] = answer
        parsed[i] = read(i, answer)
        if answer.ok and parsed[i] is None:
            client.note_parse_failure()
            count(client, role_of(requests[i].tag), unknown=1)
            if answer.truncated:
                client.note_truncated_unknown()
    return parsed, answers


def _with_reminder(request: ChatRequest, answer: Completion, reminder: str) -> ChatRequest:
    return ChatRequest(
        messages=[
            *request.messages,
            {"role": "assistant", "content": answer.text or ""},
            {"role": "user", "content": reminder},
        ],
        temperature=request.temperature,
        max_tokens=request.max_tokens,
        sample_index=request.sample_index,
        params=request.params,
        tag=f"{request.tag}:reminder",
        schema=request.schema,
    )


class LLMCoherenceJudge:
    """Asks the judge model, one request per completion, whether it is coherent text.

    UNKNOWN (None) when the call failed or the answer had no readable label after one
    reminder; never False for a failure. `last_answers` keeps the raw replies for reports."""

    name = "llm-coherence"

    def __init__(self, client: JudgeClient):
        self.client = client
        self.last_answers: list[Completion] = []

    def judge_coherence(self, prompts: Sequence[str], completions: Sequence[str]) -> list[Verdict]:
        if len(prompts) != len(completions):
            raise ValueError("prompts and completions differ in length")
        requests = [
            ChatRequest(messages=coherence_messages(p, c), tag="coherence", schema=COHERENCE)
            for p, c in zip(prompts, completions, strict=True)
        ]
        parsed, self.last_answers = ask_with_reminder(
            self.client, requests, [parse_coherence] * len(requests), COHERENCE_REMINDER
        )
        return [UNKNOWN if v is None else bool(v) for v in parsed]


def split_groups(items: list[int], size: int) -> list[list[int]]:
    """Consecutive groups of at most `size`, as even as possible (25 by 10 -> 9, 8, 8), so no
    list reaches the next round unopposed."""
    k = -(-len(items) // size)
    base, extra = divmod(len(items), k)
    out, lo = [], 0
    for g in range(k):
        hi = lo + base + (g < extra)
        out.append(items[lo:hi])
        lo = hi
    return out


class TournamentScaleChooser:
    """Picks the Patchscope scale by a tournament of the judge model.

    The lists are cut into even groups of at most `group_size` (10) in scale order; the judge picks the most
    coherent list of each group, and the group winners meet in a final (more rounds if there
    are more than `group_size` groups; none when there is one group). Scores: 1.0 for the
    overall winner, 0.5 for a list that won its group (or an earlier round), 0 otherwise. An
    UNKNOWN answer (failed call or unreadable after one reminder) falls back to the offline
    ContentStability choice among that group's lists, with a warning.
    """

    name = "llm-tournament"

    def __init__(self, client: JudgeClient, tokenizer: Any | None = None, group_size: int = 10):
        if group_size < 2:
            raise ValueError("group_size must be at least 2")
        self.client = client
        self.fallback = ContentStability(tokenizer)
        self.group_size = group_size
        self.last_rounds: list[list[dict[str, Any]]] = []  # per round: group members and winner

    def choose(
        self,
        lists: list[list[dict[str, Any]]],
        controls: list[list[dict[str, Any]]] | None = None,
    ) -> tuple[int, list[float]]:
        """The tournament's winner; the scores are the offline chooser's, so that the winners
        of different positions stay comparable (a tournament only ranks within one)."""
        if not lists:
            raise ValueError("no token lists to choose from")
        _, offline_scores = self.fallback.choose(lists, controls)
        alive = list(range(len(lists)))
        self.last_rounds = []
        while len(alive) > 1:
            groups = split_groups(alive, self.group_size)
            alive = self._round(lists, groups, offline_scores)
        return alive[0], offline_scores

    def _round(
        self, lists: list[list[dict[str, Any]]], groups: list[list[int]], offline: list[float]
    ) -> list[int]:
        contested = [g for g in groups if len(g) > 1]
        requests = [
            ChatRequest(
                messages=tournament_messages([lists[i] for i in g]),
                tag="tournament",
                schema=tournament_schema(len(g)),
            )
            for g in contested
        ]
        parsers = [partial(parse_choice, n=len(g)) for g in contested]
        parsed, _ = (
            ask_with_reminder(self.client, requests, parsers, TOURNAMENT_REMINDER)
            if requests
            else ([], [])
        )
        picks = iter(parsed)
        winners, record = [], []
        for g in groups:
            pick = next(picks) if len(g) > 1 else 1
            if pick is None:
                best = max(g, key=offline.__getitem__)
                log.warning(
                    "scale tournament: no readable answer for a group of %d lists; using the "
                    "offline content-stability choice",
                    len(g),
                )
                winner, source = best, "offline"
            else:
                winner, source = g[pick - 1], "judge"
            winners.append(winner)
            record.append({"members": g, "winner": winner, "source": source})
        self.last_rounds.append(record)
        return winners
