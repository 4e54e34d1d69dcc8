"""Readers as plug-ins: each turns the mean difference (and what else it needs) into token lists
per (layer, position, variant), as `Reading`s.

A reader is one class with a `name` (its key in readings and in `ReadConfig.readers`), a `label`
for people, the inputs it `needs`, and `read(context)`. A new reader is one module plus a
registration: `register_reader(ReaderSpec(...))`, or an `adlens.readers` entry point naming a
`ReaderSpec` in an installed package. The read stage, the report, the verdict, the relevance
grader, the agent and the sweep all iterate over the registered readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from adlens.errors import AdlensError
from adlens.results.readings import Reading

if TYPE_CHECKING:
    from adlens.core.activations import ActivationDiff
    from adlens.core.config import ReadConfig
    from adlens.core.models import ModelPair
    from adlens.core.protocols import ScaleChooser

# What a reader may need, so that the read stage prepares only that.
NEEDS = frozenset({"diff", "pair", "reference", "weights"})


@dataclass
class ReadContext:
    """Everything a reader may read from. `documents()` loads the reference text (the collected
    documents) on first call; `weights` readers compare `pair`'s parameters."""

    pair: ModelPair
    diff: ActivationDiff
    config: ReadConfig
    chooser: ScaleChooser | None = None  # None: each reader's offline default
    show_progress: bool = True
    documents: Callable[[], Sequence[Any]] = lambda: ()  # texts or chats (core.data.Document)


@dataclass
class ReaderOutput:
    """A reader's result: `readings` (the clean lists the summary keeps), `raw` (the same lists
    unfiltered: whitespace, punctuation and special tokens included) and any further `files`
    (name -> jsonl rows) written beside them in read/."""

    readings: list[Reading]
    raw: list[Reading] = field(default_factory=list)
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Reader(Protocol):
    """What every reader implements."""

    name: str
    label: str
    needs: frozenset[str]

    def read(self, ctx: ReadContext) -> ReaderOutput: ...


@dataclass(frozen=True)
class ReaderSpec:
    """A registered reader, known without importing it (no torch for a label): `target` is
    "module:Class", a class whose no-argument instance is the Reader. `settings` names the
    `ReadConfig` fields it reads besides `top_k` (its readings are recomputed when they
    change), `uses_judge` whether an LLM judge may take part in its choices. `reads` says what
    a reading's position is: "positions" (token positions of the difference), "pooled" (one
    list for the whole text: layer and position `ALL`) or "directions" (the position is the rank
    of a direction at its layer).

    >>> out = reader_spec("patchscope").load().read(ReadContext(pair, diff, cfg.read))
    >>> out.readings[0].reader, sorted(out.files)
    ('patchscope', ['patchscope_scales.jsonl'])
    """

    name: str
    label: str
    target: str
    needs: frozenset[str] = frozenset({"diff", "pair"})
    description: str = ""
    settings: tuple[str, ...] = ()
    uses_judge: bool = False
    reads: str = "positions"

    def load(self) -> Reader:
        module, _, attr = self.target.partition(":")
        reader: Reader = getattr(import_module(module), attr)()
        return reader


_REGISTRY: dict[str, ReaderSpec] = {}


def register_reader(spec: ReaderSpec) -> None:
    """Make a reader available to `ReadConfig.readers` (and so to `adlens run --readers`).

    Args:
        spec: the reader's name, label, "module:Class" target and needs.

    Example:
        >>> register_reader(ReaderSpec("norms", "norms", "my_readers:NormReader"))
        >>> [s.name for s in reader_specs()][-1]
        'norms'
        >>> unregister_reader("norms")
    """
    unknown = spec.needs - NEEDS
    if unknown:
        raise AdlensError(
            f"Reader {spec.name!r} needs {sorted(unknown)}; readers may need {sorted(NEEDS)}."
        )
    _REGISTRY[spec.name] = spec


def unregister_reader(name: str) -> None:
    """Forget a registered reader (runs that name it then fail validation).

    Args:
        name: the reader's name.

    Example:
        >>> unregister_reader("no-such-reader")  # forgetting an unknown name is no error
    """
    _REGISTRY.pop(name, None)


register_reader(
    ReaderSpec(
        "logit_lens",
        "logit lens",
        "adlens.core.lens:LogitLensReader",
        description="each vector through the final norm and unembedding",
        settings=("heads",),
    )
)
register_reader(
    ReaderSpec(
        "patchscope",
        "Patchscope",
        "adlens.core.patchscope:PatchscopeReader",
        description="each vector patched into a token-identity prompt",
        settings=("scales", "keep_top"),
        uses_judge=True,
    )
)
register_reader(
    ReaderSpec(
        "diffmine",
        "diff mining",
        "adlens.core.diffmine:DiffMineReader",
        needs=frozenset({"pair", "reference"}),
        description="the tokens the finetune promotes most often over the reference text",
        settings=("diffmine",),
        reads="pooled",
    )
)
register_reader(
    ReaderSpec(
        "weights",
        "weight directions",
        "adlens.core.weight_diff:WeightsReader",
        needs=frozenset({"pair", "weights", "diff"}),
        description="the residual directions the weight change writes most strongly",
        settings=("weights", "scales", "keep_top"),
        uses_judge=True,
        reads="directions",
    )
)
register_reader(
    ReaderSpec(
        "contrastive",
        "contrastive decoding",
        "adlens.core.contrastive:ContrastiveReader",
        needs=frozenset({"pair"}),
        description="words of samples amplified by the logit difference, against base samples",
        settings=("contrastive",),
        reads="pooled",
    )
)
_PLUGINS_LOADED = False


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for ep in entry_points(group="adlens.readers"):
        spec = ep.load()
        if isinstance(spec, ReaderSpec):
            register_reader(spec)


def reader_specs() -> list[ReaderSpec]:
    """Every registered reader, built-ins first.

    Example:
        >>> [s.name for s in reader_specs()][:2]
        ['logit_lens', 'patchscope']
    """
    _load_plugins()
    return list(_REGISTRY.values())


def reader_spec(name: str) -> ReaderSpec:
    """The registered reader of this name; a one-line AdlensError naming the known ones."""
    _load_plugins()
    if name not in _REGISTRY:
        raise AdlensError(f"Unknown reader {name!r}; use one of: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def reader_reads(name: str) -> str:
    """What a reader's positions are ("positions" for a reader not registered here)."""
    _load_plugins()
    spec = _REGISTRY.get(name)
    return spec.reads if spec else "positions"


def reader_description(name: str) -> str:
    """What a reader computes, in a phrase ('' for a reader not registered here)."""
    _load_plugins()
    spec = _REGISTRY.get(name)
    return spec.description if spec else ""


def reader_label(name: str) -> str:
    """A reader's name for people (its key when it is not registered here)."""
    _load_plugins()
    spec = _REGISTRY.get(name)
    return spec.label if spec else name
