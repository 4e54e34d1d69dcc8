"""JSON schemas of the judges' answers, one per role, and the readers that validate them.

A judge request may carry an `AnswerSchema`; where the endpoint supports it, the client sends
it as `response_format`, so a model with constrained decoding can only answer in that shape.
The prompt is the text protocol's, unchanged: a server that accepts the schema but ignores it
still gets a parseable answer. `read_answer` reads a JSON answer first (validated: anything
that is not what the schema asks for is UNKNOWN) and an answer that is not JSON at all with
the text protocol's parser.

Every schema keeps `reasoning` first, as the prompts ask the judge to think before it commits;
only the agent's final answer has none (its investigation was the reasoning), and the local
server's form leaves it out (see `AnswerSchema.response_format`). The schemas use
what OpenAI's strict mode, vLLM and llama.cpp all accept: objects with every property required
and no others, strings, and enums (of strings or integers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

COHERENCE_LABELS = ("COHERENT", "INCOHERENT")
RELEVANCE_LABELS = ("RELEVANT", "IRRELEVANT")
GRADE_SCORES = (1, 2, 3, 4, 5)
FORMS = ("json_schema", "json_object")  # the two shapes of response_format servers accept


@dataclass(frozen=True, eq=False)
class AnswerSchema:
    """A role's answer schema. `validate` maps the decoded JSON to the verdict, None where
    the answer is not what the schema asks for (UNKNOWN)."""

    name: str
    schema: dict[str, Any]
    validate: Callable[[Any], Any]

    def response_format(self, form: str) -> dict[str, Any]:
        """The request's `response_format`: OpenAI's (and vLLM's, llama.cpp server's)
        `json_schema`, or the `json_object` with a `schema` that llama-cpp-python accepts. The
        latter leaves `reasoning` out: its grammar sampler slows to seconds per token inside a
        bounded string (a maxLength becomes hundreds of nested rules), and unbounded, a small
        local model rambles there up to its token limit; a cut-off object is no answer."""
        if form == "json_object":
            return {"type": "json_object", "schema": _without_reasoning(self.schema)}
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": True},
        }


def _without_reasoning(schema: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in schema.get("properties", {}).items() if k != "reasoning"}
    if len(props) == len(schema.get("properties", {})):
        return schema
    return {**schema, "properties": props, "required": list(props)}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_REASONING = {"type": "string", "description": "Brief reasoning, before the verdict."}


def _enum(values: Sequence[Any], description: str) -> dict[str, Any]:
    kind = "integer" if all(isinstance(v, int) for v in values) else "string"
    return {"type": kind, "enum": list(values), "description": description}


# --------------------------------------------------------------------------- reading


class _NotJson:
    pass


NOT_JSON = _NotJson()  # the answer is not JSON at all: read it with the text protocol
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def decode(text: str | None) -> Any:
    """The JSON object of an answer; NOT_JSON when the answer does not start as one (a model
    that ignored the schema); None when it starts as one but is not valid JSON, or has more
    than whitespace after it (cut at the token limit, say). A leading <think> block and a
    ```json fence are stripped; control characters inside strings are allowed."""
    if not text:
        return NOT_JSON
    body = _THINK.sub("", text).strip()
    fenced = _FENCE.match(body)
    body = fenced.group(1) if fenced else body
    if not body.startswith("{"):
        return NOT_JSON
    try:  # strict=False: llama.cpp's grammar lets raw newlines into strings
        obj, end = json.JSONDecoder(strict=False).raw_decode(body)
    except ValueError:
        return None
    return obj if not body[end:].strip() and isinstance(obj, dict) else None


def read_answer(
    text: str | None, schema: AnswerSchema, text_parser: Callable[[str | None], Any]
) -> Any:
    """The verdict of an answer to a request that carried `schema`: a JSON answer validated by
    the schema (invalid: None), an answer that is not JSON by the text protocol's parser."""
    obj = decode(text)
    if obj is NOT_JSON:
        return text_parser(text)
    return None if obj is None else schema.validate(obj)


def _label(value: Any, labels: Sequence[str]) -> str | None:
    if not isinstance(value, str):
        return None
    word = value.strip().upper()
    return word if word in labels else None


def _whole(value: Any) -> int | None:
    """An integer, or a string of digits (a model without constrained decoding); never a bool,
    a float or a rounded number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# --------------------------------------------------------------------------- roles


def _coherence(obj: dict[str, Any]) -> bool | None:
    label = _label(obj.get("label"), COHERENCE_LABELS)
    return None if label is None else label == "COHERENT"


COHERENCE = AnswerSchema(
    "coherence_verdict",
    _object(reasoning=_REASONING, label=_enum(COHERENCE_LABELS, "The verdict.")),
    _coherence,
)


def _choice(obj: dict[str, Any], n: int) -> int | None:
    k = _whole(obj.get("best"))
    return k if k is not None and 1 <= k <= n else None


def tournament_schema(n: int) -> AnswerSchema:
    """The scale tournament among `n` numbered lists: the number of the most coherent one."""
    best = _enum(range(1, n + 1), "The number of the most coherent list.")
    return AnswerSchema(
        "tournament_choice",
        _object(reasoning=_REASONING, best=best),
        lambda obj: _choice(obj, n),
    )


def _score(obj: dict[str, Any]) -> int | None:
    k = _whole(obj.get("score"))
    return k if k in GRADE_SCORES else None


GRADE = AnswerSchema(
    "hypothesis_grade",
    _object(reasoning=_REASONING, score=_enum(GRADE_SCORES, "The score, 1 to 5.")),
    _score,
)


def _hypothesis(obj: dict[str, Any]) -> str | None:
    value = obj.get("hypothesis")
    return value.strip() or None if isinstance(value, str) else None


FINAL = AnswerSchema(
    "final_answer",
    _object(hypothesis={"type": "string", "description": "The final hypothesis."}),
    _hypothesis,
)


def token_key(k: int, token: str) -> str:
    """The key of shown token number k in a relevance answer: its number and the token's
    letters and digits (ASCII), e.g. `3. bee` for " bee". No quotes, backslashes or control
    characters: llama-cpp-python's grammar converter escapes them wrongly in property names,
    and its server dies on the grammar it cannot parse."""
    return f"{k}. {_safe(token)}".rstrip()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", " ", text).strip()


def _norm(text: str) -> str:
    return " ".join(text.strip().strip("\"'").split()).casefold()


def _names(token: str) -> set[str]:
    """The ways an answer may name a token: as is, JSON-quoted, or as `token_key` writes it."""
    return {_norm(token), _norm(json.dumps(token, ensure_ascii=False)), _norm(_safe(token))}


_KEY = re.compile(r"^\s*#?(\d+)\s*[.:)=\-]?\s*(.*)$", re.DOTALL)


def _relevance(obj: dict[str, Any], tokens: Sequence[str]) -> list[bool | None] | None:
    """Grades in shown order. A key names its token by number (and, as the schema writes it,
    the token itself): a key whose token is not the shown token of its number, or that names
    no shown token, grades nothing; a token left out or graded twice differently is UNKNOWN.
    Fewer than half the tokens graded is no answer at all (as in the text protocol)."""
    verdicts = obj.get("verdicts")
    n = len(tokens)
    if not isinstance(verdicts, dict) or n == 0:
        return None
    by_text: dict[str, list[int]] = {}
    for k, t in enumerate(tokens, 1):
        for name in _names(t) - {""}:
            by_text.setdefault(name, []).append(k)
    grades: dict[int, bool | None] = {}
    for key, value in verdicts.items():
        m = _KEY.match(str(key))
        if m:
            k, named = int(m.group(1)), _norm(m.group(2))
            if not 1 <= k <= n or (named and k not in by_text.get(named, [])):
                continue
        else:
            hits = set(by_text.get(_norm(str(key)), []))
            if len(hits) != 1:
                continue
            k = hits.pop()
        label = _label(value, RELEVANCE_LABELS)
        grade = None if label is None else label == "RELEVANT"
        grades[k] = grade if grades.get(k, grade) == grade else None
    if sum(g is not None for g in grades.values()) < -(-n // 2):
        return None
    return [grades.get(k) for k in range(1, n + 1)]


def relevance_schema(tokens: Sequence[str]) -> AnswerSchema:
    """Token relevance of the `tokens` shown, in their shown order: one required key per
    token (its number, as the prompt lists it, and the token's letters), so a model with
    constrained decoding grades every shown token exactly once, and only those."""
    label = _enum(RELEVANCE_LABELS, "Whether the token points to the finetune.")
    grades = _object(**{token_key(k, t): label for k, t in enumerate(tokens, 1)})
    shown = list(tokens)
    return AnswerSchema(
        "token_relevance",
        _object(reasoning=_REASONING, verdicts=grades),
        lambda obj: _relevance(obj, shown),
    )
