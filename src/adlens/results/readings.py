"""A reading: one reader's top tokens for one (layer, position, variant) of the difference."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

# The layer and position of a reading that pools them all (e.g. diff mining reads the models'
# outputs at every position of the reference text). Far below the chat-template positions
# (-3..-1), so it never names a real position.
ALL = -1000


class TokenProb(BaseModel):
    """One token of a reading: its text, vocabulary id and probability (readers may add a score,
    e.g. Patchscope's `votes` across scales)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    token: str
    id: int
    prob: float

    def field(self, name: str, default: float = 0.0) -> float:
        """A reader-specific number (`votes`, `score`...) or `default` when absent."""
        value = (self.model_extra or {}).get(name, default)
        return float(value)


class Reading(BaseModel):
    """A reader's token list for one vector of the difference.

    `reader` names the reader (`logit_lens`, `patchscope`...), `layer` and `position` where it
    read (`ALL`: pooled over every layer or position), `model` the model that read it,
    `head` the logit lens's unembedding (finetuned or base), `scale` the Patchscope scale chosen
    (with `scale_score`, and `pooled` when the list pools every scale). Readers may add fields.

    >>> r = Reading(reader="logit_lens", layer=3, position=0, variant="diff",
    ...             tokens=[TokenProb(token=" honey", id=7, prob=0.5)])
    >>> r.words()
    [' honey']
    """

    model_config = ConfigDict(extra="allow")

    reader: str
    layer: int
    position: int
    variant: str
    model: str = "finetuned"
    head: str | None = None
    scale: float | None = None
    scale_score: float | None = None
    pooled: bool | None = None
    tokens: list[TokenProb]

    def words(self, n: int | None = None) -> list[str]:
        """The token strings, best first (the first `n` when given)."""
        return [t.token for t in self.tokens[:n]]

    def matches(
        self,
        reader: str | None = None,
        variant: str | None = None,
        layer: int | None = None,
        position: int | None = None,
        head: str | None = None,
    ) -> bool:
        """Whether this reading is of `reader`, `variant`... (None: any). `head` only narrows
        readers that have heads."""
        return (
            (reader is None or self.reader == reader)
            and (variant is None or self.variant == variant)
            and (layer is None or self.layer == layer)
            and (position is None or self.position == position)
            and (head is None or self.head is None or self.head == head)
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def select(
    readings: Iterable[Reading],
    reader: str | None = None,
    variant: str | None = None,
    layer: int | None = None,
    position: int | None = None,
    head: str | None = None,
) -> list[Reading]:
    """The readings that match every given field (see `Reading.matches`)."""
    return [r for r in readings if r.matches(reader, variant, layer, position, head)]
