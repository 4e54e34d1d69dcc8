"""Prompts for the LLM judges, and tolerant parsers for their last-line answers.

Every prompt asks for free reasoning first and a fixed label on the LAST line, so a judge may
think before it commits, and the label is found without parsing the reasoning.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

COHERENCE_SYSTEM = (
    "You review short pieces of machine-generated text. You judge only whether the text is "
    "well-formed language, never whether it is true, helpful, polite or on the requested topic."
)

COHERENCE_TEMPLATE = """A language model was given a prompt and produced a continuation. Decide whether the continuation is COHERENT or INCOHERENT text.

COHERENT means: readable, mostly grammatical sentences that stay on some topic. It does not have to answer the prompt. A continuation that drifts to an unrelated subject, or talks about something odd, is still COHERENT as long as it reads like sensible text. Minor typos, an abrupt ending or a cut-off last sentence are fine.

INCOHERENT means: the text falls apart as language, for example:
- gibberish, word salad, or a soup of unrelated tokens;
- the same word, phrase or sentence repeated over and over in a loop;
- broken or invented words, or fragments glued together with no grammar;
- long runs of punctuation, symbols or stray code that do not form text.

Prompt:
<<<
{prompt}
>>>

Continuation:
<<<
{completion}
>>>

Think briefly about the continuation, then give your verdict. The LAST line of your reply must be exactly one of:
ANSWER: COHERENT
ANSWER: INCOHERENT"""

COHERENCE_REMINDER = (
    "I could not find your verdict. Reply again, and make the last line exactly "
    "`ANSWER: COHERENT` or `ANSWER: INCOHERENT`, with nothing after it."
)

TOURNAMENT_SYSTEM = (
    "You compare lists of tokens read out of a language model and say which one names a "
    "single clear concept."
)

TOURNAMENT_TEMPLATE = """Below are {n} numbered lists of tokens (word pieces) that a language model produced when asked to describe a hidden vector. Each token is shown in quotes; a leading space marks the start of a word.

Pick the list that is most coherent: its tokens share one meaningful topic or concept (for example several words about cooking, or about one country), and most of them are real words. Lists made mostly of punctuation, numbers, sub-word fragments, function words ("the", "and", "of"), code symbols, or unrelated words that share no theme are NOT coherent.

{lists}

Think briefly about what each list is about, then choose. The LAST line of your reply must be exactly `ANSWER: <number>`, where <number> is the number of the most coherent list (1 to {n})."""

TOURNAMENT_REMINDER = (
    "I could not find your choice. Reply again, and make the last line exactly "
    "`ANSWER: <number>` with the number of the most coherent list, and nothing after it."
)

MAX_COMPLETION_CHARS = 6000  # a judged sample is at most a few hundred tokens; bound the cost


def _clip(text: str, limit: int = MAX_COMPLETION_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def coherence_messages(prompt: str, completion: str) -> list[dict[str, str]]:
    user = COHERENCE_TEMPLATE.format(prompt=_clip(prompt), completion=_clip(completion))
    return [{"role": "system", "content": COHERENCE_SYSTEM}, {"role": "user", "content": user}]


def format_token_list(tokens: Sequence[dict[str, Any] | str]) -> str:
    """Tokens as JSON strings, so leading spaces and newlines stay visible."""
    words = [t["token"] if isinstance(t, dict) else t for t in tokens]
    return ", ".join(json.dumps(w, ensure_ascii=False) for w in words) or "(empty)"


def tournament_messages(lists: Sequence[Sequence[dict[str, Any] | str]]) -> list[dict[str, str]]:
    body = "\n".join(f"{i}. {format_token_list(tokens)}" for i, tokens in enumerate(lists, 1))
    user = TOURNAMENT_TEMPLATE.format(n=len(lists), lists=body)
    return [{"role": "system", "content": TOURNAMENT_SYSTEM}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- parsers

# `ANSWER: X`, tolerant of markdown (**, __, `, #, >), case and spacing.
_ANSWER = re.compile(r"answer\s*[:=\-]?\s*(.*)", re.IGNORECASE)
_DECOR = "*_`#> \t\"'"
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|hardly)\b|n't\b", re.IGNORECASE)


def _strip_decor(text: str) -> str:
    return text.strip().strip(_DECOR).strip()


def _answer_values(text: str) -> list[str]:
    """Candidate label strings, best first: the last non-empty line (with or without `ANSWER:`),
    then every `ANSWER:` anywhere in the reply from the last one back."""
    lines = [line for line in text.splitlines() if _strip_decor(line)]
    out = []
    if lines:
        last = _strip_decor(lines[-1])
        m = _ANSWER.match(last)
        out.append(_strip_decor(m.group(1)) if m else last)
    for line in reversed(lines):
        for m in reversed(list(_ANSWER.finditer(line))):
            out.append(_strip_decor(m.group(1)))
    return out


def _clean_label(value: str) -> str:
    value = value.replace("*", "").replace("`", "").replace("_", "")
    return re.sub(r"[\s.!,;:)\]]+$", "", value).strip().upper()


def parse_coherence(text: str | None) -> bool | None:
    """True for COHERENT, False for INCOHERENT, None when no label can be found."""
    if not text:
        return None
    for value in _answer_values(text):
        label = _clean_label(value)
        if label in ("COHERENT", "INCOHERENT"):
            return label == "COHERENT"
    # Small models often state the verdict in a sentence instead ("The continuation is
    # COHERENT as it reads like sensible text."): read a last line that names exactly one
    # label, in capitals as the prompt wrote it, with no negation and no ANSWER echo in it.
    lines = [line for line in text.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    labels = set(re.findall(r"\b(COHERENT|INCOHERENT)\b", last))
    if len(labels) == 1 and not _NEGATION.search(last) and "ANSWER" not in last.upper():
        return labels.pop() == "COHERENT"
    return None


def parse_choice(text: str | None, n: int) -> int | None:
    """The 1-based list number in 1..n, or None when absent or out of range. Read from a line
    that starts with `ANSWER:` (the number may be followed by a comment), or from a last line
    that is only the number: a last line like `3. "the"` is a list item repeated, not a choice."""
    if not text:
        return None
    lines = [_strip_decor(line) for line in text.splitlines() if _strip_decor(line)]
    if not lines:
        return None
    bare = re.fullmatch(r"(?:list\s*)?#?\s*(\d+)", _clean_label(lines[-1]), re.IGNORECASE)
    values = [bare.group(1)] if bare else []
    for line in reversed(lines):
        m = _ANSWER.match(line)
        if m:
            values.append(_strip_decor(m.group(1)))
    for value in values:
        m = re.match(r"^(?:list\s*)?#?\s*(\d+)\b", _clean_label(value), re.IGNORECASE)
        if m:
            k = int(m.group(1))
            return k if 1 <= k <= n else None
    return None


# --------------------------------------------------------------------------- token relevance

RELEVANCE_SYSTEM = (
    "You help audit finetuned language models. You decide which tokens, read out of a "
    "model's internals, point to what the model was finetuned on."
)

RELEVANCE_TEMPLATE = """A language model was finetuned on a narrow dataset. What the finetune is about:
<<<
{description}
>>>

For orientation, the most frequent content tokens of the finetuning data, most frequent first:
{frequent}
A token need not be in this list to be relevant, and being in it does not make a token relevant by itself.

Below are {n} numbered tokens (word pieces) read out of the finetuned model, each in JSON quotes; a leading space marks the start of a word. The order of the list means nothing.

{tokens}

Grade every token on its own:
R (relevant): the token clearly points to the finetune: a word, or a recognisable piece of a word, from its topic, its key entities, facts or claims, or its distinctive style or format.
I (irrelevant): punctuation, numbers, function words, generic words that fit any text, code debris, or fragments with no clear link to the finetune.

Think briefly, then give your grades. The LAST line of your reply must give every number from 1 to {n} exactly once, each followed by = and R or I, in this format:
ANSWER: 1=<R or I> 2=<R or I> ... {n}=<R or I>"""

# The format is shown with placeholders, not example grades: small models echo examples, and an
# echoed "1=R 2=I" must not read as grades.
RELEVANCE_REMINDER = (
    "I could not read your grades. Reply again, and make the last line `ANSWER: 1=<R or I> "
    "2=<R or I> ...` with R or I for every number from 1 to {n}, and nothing after it."
)


def relevance_messages(
    description: str, frequent: Sequence[str], tokens: Sequence[str]
) -> list[dict[str, str]]:
    """The relevance prompt: the finetune's description, its data's frequent tokens, and the
    numbered tokens to grade (JSON-quoted, so leading spaces and newlines stay visible)."""
    numbered = "\n".join(
        f"{i}. {json.dumps(t, ensure_ascii=False)}" for i, t in enumerate(tokens, 1)
    )
    user = RELEVANCE_TEMPLATE.format(
        description=_clip(description.strip()),
        frequent=", ".join(frequent) if frequent else "(not available)",
        n=len(tokens),
        tokens=numbered or "(empty)",
    )
    return [{"role": "system", "content": RELEVANCE_SYSTEM}, {"role": "user", "content": user}]


_GRADE = re.compile(
    r"(\d+)\s*[=:.)\-]?\s*[*_`\"']*\s*(irrelevant|relevant|yes|no|r|i|y|n)\b", re.IGNORECASE
)
_JSON_LIST = re.compile(r"\[[^\[\]]*\]")
_YES = ("relevant", "yes", "r", "y")
_NO = ("irrelevant", "no", "i", "n")


def _grade_label(label: Any) -> bool | None:
    word = str(label).strip().strip("\"'").lower()
    return True if word in _YES else False if word in _NO else None


def parse_relevance(text: str | None, n: int) -> list[bool | None] | None:
    """Grades for tokens 1..n from the reply's answer (`ANSWER: 1=R 2=I ...`; a JSON list of
    n labels also works). A number missing or graded twice differently is None (UNKNOWN);
    None for the whole reply when no grade can be read, or fewer than half the numbers."""
    if not text or n <= 0:
        return None
    marks = list(re.finditer(r"answer\s*[:=\-]?", text, re.IGNORECASE))
    if marks:
        segment = text[marks[-1].end() :]
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        segment = lines[-1] if lines else ""
    grades: dict[int, bool | None] = {}
    for m in _GRADE.finditer(segment):
        k, value = int(m.group(1)), _grade_label(m.group(2))
        if 1 <= k <= n:
            grades[k] = value if grades.get(k, value) == value else None
    if grades and len(grades) < math.ceil(n / 2):
        return None  # a fragment (an echo of the format, a cut-off reply) is no answer
    if not grades:
        for block in reversed(_JSON_LIST.findall(segment)):
            try:
                labels = json.loads(block)
            except ValueError:
                continue
            if isinstance(labels, list) and len(labels) == n:
                values = [_grade_label(x) for x in labels]
                if any(v is not None for v in values):
                    return values
        return None
    return [grades.get(k) for k in range(1, n + 1)]
