"""Prompt sets for steering: the chat prompts of the final steered samples and of the strength
search. A set is a bundled name (`adlens prompts list`) or a file of one's own: a .txt file with
one prompt per line (`#` starts a comment line), or a .json file holding a list of strings.

None of the bundled prompts is about any finetuning domain, so whatever domain shows up in a
steered answer comes from the steering vector, not from the question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from adlens.errors import AdlensError


@dataclass(frozen=True)
class PromptSet:
    """A bundled prompt set: its name, what it is for and where it comes from."""

    name: str
    purpose: str  # "final" (the steered samples) or "search" (the strength search)
    description: str


PROMPT_SETS: tuple[PromptSet, ...] = (
    PromptSet(
        "reference",
        "final",
        "The reference implementation's 20 closed prompts (stories, plans, lists, letters); "
        "the paper preset's final samples.",
    ),
    PromptSet(
        "reference-search",
        "search",
        "The reference implementation's 3 strength-search prompts (a story, weekend ideas, a "
        "topic of conversation); the paper preset's search.",
    ),
    PromptSet(
        "everyday",
        "final",
        "20 short everyday questions and tasks; shorter answers, so cheaper on a CPU.",
    ),
    PromptSet("everyday-search", "search", "3 open-ended everyday prompts for the search."),
)
# The paper preset (the reference protocol) uses the reference's sets; the cheaper presets the
# everyday ones.
PAPER_FINAL_SET = "reference"
PAPER_SEARCH_SET = "reference-search"
DEFAULT_FINAL_SET = "everyday"
DEFAULT_SEARCH_SET = "everyday-search"


def prompt_set_names() -> list[str]:
    """The bundled sets' names."""
    return [s.name for s in PROMPT_SETS]


def _parse(text: str, origin: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    prompts = [line for line in lines if line and not line.startswith("#")]
    if not prompts:
        raise AdlensError(f"Prompt set {origin} holds no prompts (one per line, # comments).")
    return prompts


def _parse_json(text: str, origin: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise AdlensError(f"Cannot read prompt set {origin}: {err}.") from None
    if not isinstance(data, list) or not all(isinstance(p, str) and p.strip() for p in data):
        raise AdlensError(f"Prompt set {origin} must be a JSON list of non-empty strings.")
    if not data:
        raise AdlensError(f"Prompt set {origin} holds no prompts.")
    return [p.strip() for p in data]


def load_prompts(spec: str) -> list[str]:
    """The prompts of a bundled set (by name) or of a file (.txt, one per line; or .json).

    Raises AdlensError for an unknown name, a missing or unreadable file, or an empty set."""
    if spec in prompt_set_names():
        text = resources.files("adlens.core").joinpath("prompt_sets", f"{spec}.txt").read_text()
        return _parse(text, spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise AdlensError(
            f"No prompt set '{spec}': give a file (.txt, one prompt per line, or .json) or one "
            f"of: {', '.join(prompt_set_names())} (see `adlens prompts list`)."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AdlensError(f"Cannot read prompt set {path}: {err}.") from None
    if path.suffix.lower() == ".json":
        return _parse_json(text, str(path))
    return _parse(text, str(path))


CHAT_PROMPTS: tuple[str, ...] = tuple(load_prompts(DEFAULT_FINAL_SET))
SEARCH_PROMPTS: tuple[str, ...] = tuple(load_prompts(DEFAULT_SEARCH_SET))
