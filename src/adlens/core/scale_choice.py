"""The offline Patchscope scale choice (content stability): which scale's token list to keep,
judged from the lists alone, without the organism's description and without an LLM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from adlens.core.stopwords import STOPWORDS
from adlens.core.vocab import PROMPT_WORDS


def content_words(tokenizer: Any, tokens: list[dict[str, Any]]) -> set[int]:
    """Ids of the tokens that are whole content words: word-initial, alphabetic, 3+ letters,
    not a function word and not a word of the Patchscope identity prompts (which any patched
    vector can echo). Punctuation, sub-word fragments and stop words name no topic.

    Without a tokenizer, a token is word-initial when its text starts with a space."""
    if tokenizer is not None:
        raws = tokenizer.convert_ids_to_tokens([t["id"] for t in tokens])
    else:
        raws = [""] * len(tokens)
    out = set()
    for t, raw in zip(tokens, raws, strict=True):
        word = t["token"].strip()
        initial = t["token"].startswith(" ") or str(raw)[:1] in ("Ġ", "▁")
        common = word.lower() in STOPWORDS or word.lower() in PROMPT_WORDS
        if initial and word.isalpha() and len(word) >= 3 and not common:
            out.add(t["id"])
    return out


def word_share(tokens: list[dict[str, Any]]) -> float:
    """Share of a list made of whole words (word-initial and alphabetic, function words too).
    Far off distribution, a patched vector decodes to sub-word debris and code pieces."""
    words = [t for t in tokens if t["token"].startswith(" ") and t["token"].strip().isalpha()]
    return len(words) / max(1, len(tokens))


@dataclass
class ContentStability:
    """Offline scale choice: the content words that persist over the scales, leaving out what
    the baseline shows.

    Why: too small a scale and the patched vector is drowned by the prompt (its usual
    continuations); too large and it is far off distribution (sub-word debris, code pieces,
    and the same few stray words at every large scale). In between, the model decodes the
    vector as a concept, which shows as whole content words, and as the same words over a band
    of scales rather than at one accidental scale. Tokens that also top the baseline's list at
    the same scale (`controls`: the base mean read in the base model) are the prompt's or the
    position's, not the finetune's.

    A list's evidence: its content words not in the control list at that scale, each weighted
    by rank (1 at the top, falling linearly), the whole list by its `word_share` to the power
    `debris_power` (debris marks a scale beyond the concept).
    - `choose`: the scale whose evidence is most shared by the `window` scales on each side
      (score = sum of evidence weights x neighbours holding the word / (2 x window)).
    - `pool`: the reading the read stage shows: every scale votes for its evidence words with
      those weights, and the `top_k` words with the most votes form the list (filled from the
      chosen scale's list when fewer content words exist). One scale's list is a noisy sample of
      what the vector means; the votes over the grid are not.
    """

    tokenizer: Any
    window: int = 3
    debris_power: float = 4.0
    name: ClassVar[str] = "content-stability"

    def _evidence(
        self, lists: list[list[dict[str, Any]]], controls: list[list[dict[str, Any]]] | None
    ) -> list[dict[int, float]]:
        out = []
        for i, tokens in enumerate(lists):
            content = content_words(self.tokenizer, tokens)
            banned = {t["id"] for t in controls[i]} if controls is not None else set()
            k = max(1, len(tokens))
            share = word_share(tokens) ** self.debris_power
            out.append(
                {
                    t["id"]: share * (k - rank) / k
                    for rank, t in enumerate(tokens)
                    if t["id"] in content and t["id"] not in banned
                }
            )
        return out

    def choose(
        self,
        lists: list[list[dict[str, Any]]],
        controls: list[list[dict[str, Any]]] | None = None,
    ) -> tuple[int, list[float]]:
        evidence = self._evidence(lists, controls)
        scores = []
        for i, words in enumerate(evidence):
            near = [
                evidence[j]
                for j in range(i - self.window, i + self.window + 1)
                if j != i and 0 <= j < len(evidence)
            ]
            scores.append(
                sum(w * sum(t in n for n in near) for t, w in words.items()) / (2 * self.window)
            )
        return max(range(len(scores)), key=scores.__getitem__), scores

    def pool(
        self,
        lists: list[list[dict[str, Any]]],
        controls: list[list[dict[str, Any]]] | None,
        best: int,
        top_k: int,
    ) -> list[dict[str, Any]]:
        """The list the votes of every scale make (see the class doc); each token keeps its
        highest probability over the scales, and `votes`, its summed vote."""
        votes: dict[int, float] = {}
        seen: dict[int, dict[str, Any]] = {}
        for tokens, evidence in zip(lists, self._evidence(lists, controls), strict=True):
            for t in tokens:
                if t["id"] in evidence:
                    votes[t["id"]] = votes.get(t["id"], 0.0) + evidence[t["id"]]
                    if t["id"] not in seen or t["prob"] > seen[t["id"]]["prob"]:
                        seen[t["id"]] = t
        ranked = sorted(votes, key=lambda i: -votes[i])[:top_k]
        out = [{**seen[i], "votes": round(votes[i], 4)} for i in ranked]
        fill = [t for t in lists[best] if t["id"] not in votes]
        return out + fill[: top_k - len(out)]


# --------------------------------------------------------------------------- text measures
