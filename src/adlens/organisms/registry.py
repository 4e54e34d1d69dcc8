"""The model organisms of the ADL paper (Minder et al., arXiv 2510.13900) as a registry, and the
one resolver of an organism name that every command's `--organism` goes through.

The registry (`paper/organisms.yaml`, shipped with the package) lists the paper's 33
(organism, base model) pairs, each by an id `<organism>/<model>`, e.g. `cake_bake/qwen3_1_7b`:
the base and finetuned hub ids, the finetuning dataset, the layer the paper reads (`adl_layer`),
a short description and, for the false facts, the implanted facts one by one.

`resolve_organism(spec)` reads, in order: a local organism file or folder; a bundled organism's
name (`fact-mars-ring`); a registry id, or an organism name that has one model only.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adlens.errors import AdlensError
from adlens.organisms.organism import (
    ORGANISM_FILES,
    DatasetRef,
    Organism,
    OrganismType,
    load_organism,
    normalise_type,
)

PAPER_REGISTRY = Path(__file__).parent / "paper" / "organisms.yaml"
ID_PATTERN = r"^[a-z0-9_]+/[a-z0-9_]+$"


class RegistryEntry(BaseModel):
    """One (organism, base model) pair of the registry. Unknown keys (notes, sources) are kept."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=ID_PATTERN)
    organism: str = Field(min_length=1)
    type: OrganismType
    model_key: str = Field(min_length=1)
    base: str = Field(min_length=1)
    finetuned: str = Field(min_length=1)
    adapter: bool
    dataset: str | None = None  # a hub dataset id; None: not public (see dataset_local_path)
    dataset_splits: list[str] = Field(default_factory=lambda: ["train"])
    dataset_is_chat: bool = False
    dataset_text_column: str | None = None
    adl_layer: int = Field(ge=0)
    description_short: str = Field(min_length=1)
    key_facts: list[str] = Field(default_factory=list)

    @property
    def model(self) -> str:
        """The model part of the id (`qwen3_1_7b`)."""
        return self.id.split("/", 1)[1]

    def long_description(self) -> str:
        if not self.key_facts:
            return ""
        return "The implanted facts:\n" + "\n".join(f"- {fact}" for fact in self.key_facts)

    def to_organism(self) -> Organism:
        """The entry as an Organism: models, dataset, descriptions, key facts; `adl_layer`,
        `model_key`, `registry_id` and the entry's other keys are kept as extra fields."""
        dataset = None
        if self.dataset:
            ref: dict[str, Any] = {
                "hub": self.dataset,
                "split": self.dataset_splits[0] if self.dataset_splits else "train",
                "splits": list(self.dataset_splits),
                "chat": self.dataset_is_chat,
            }
            if self.dataset_text_column:
                ref["text_column"] = self.dataset_text_column
            dataset = DatasetRef.model_validate(ref)
        known = set(RegistryEntry.model_fields) - {"id", "model_key", "adl_layer", "organism"}
        extra = {k: v for k, v in self.model_dump().items() if k not in known}
        extra["registry_id"] = extra.pop("id")
        return Organism(
            name=self.id,
            type=self.type,
            short_description=self.description_short,
            long_description=self.long_description(),
            dataset=dataset,
            base_model=self.base,
            finetuned=self.finetuned,
            key_facts=list(self.key_facts),
            finetuned_is_adapter=self.adapter,
            **extra,
        )


def _entry_error(index: int, data: Any, err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e.get("loc", ())) or "entry"
    ident = data.get("id") if isinstance(data, dict) else None
    which = f"'{ident}'" if ident else f"#{index + 1}"
    msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
    return f"entry {which}: field '{loc}': {msg}"


def load_registry(path: str | Path = PAPER_REGISTRY) -> list[RegistryEntry]:
    """The entries of a registry file (a yaml list of mappings), checked: one-line AdlensError
    naming the file, the entry and the field.

    Args:
        path: the registry file (default: the paper's, shipped with adlens).
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AdlensError(f"Cannot read organism registry {path}: {err.strerror or err}.") from None
    except Exception as err:  # yaml.YAMLError, UnicodeDecodeError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AdlensError(f"Cannot read organism registry {path}: {first}.") from None
    if not isinstance(data, list):
        raise AdlensError(f"Organism registry {path} must hold a list of entries.")
    entries, seen = [], set()
    for i, item in enumerate(data):
        try:
            entry = RegistryEntry.model_validate(item)
        except ValidationError as err:
            raise AdlensError(f"Organism registry {path}: {_entry_error(i, item, err)}.") from None
        if entry.id in seen:
            raise AdlensError(f"Organism registry {path}: id '{entry.id}' appears twice.")
        if entry.id.split("/", 1)[0] != entry.organism:
            raise AdlensError(
                f"Organism registry {path}: id '{entry.id}' does not start with its organism "
                f"'{entry.organism}'."
            )
        seen.add(entry.id)
        entries.append(entry)
    return entries


@functools.lru_cache(maxsize=1)
def _paper_registry() -> tuple[RegistryEntry, ...]:
    return tuple(load_registry(PAPER_REGISTRY))


def _model_key(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def registry_entries(
    type: str | OrganismType | None = None, model: str | None = None
) -> list[RegistryEntry]:
    """The paper's registry entries, in the paper's order; `type` and `model` filter them.

    Args:
        type: an organism type (`false_fact`, `secret word`, `SDF`, ...).
        model: a model of the ids (`qwen3_1_7b`), a model key or a base hub id
            (`Qwen/Qwen3-1.7B`), any case.
    """
    entries = list(_paper_registry())
    if type is not None:
        try:
            kind = normalise_type(type)
        except ValueError as err:
            raise AdlensError(f"--type: {err}.") from None
        entries = [e for e in entries if e.type == kind]
    if model is not None:
        key = _model_key(model)
        all_models = sorted({e.model for e in _paper_registry()})
        if key not in {k for e in _paper_registry() for k in _model_keys(e)}:
            raise AdlensError(
                f"Unknown model '{model}' in the organism registry{_suggest(key, all_models)} "
                f"(models: {', '.join(all_models)})."
            )
        entries = [e for e in entries if key in _model_keys(e)]
    return entries


def _model_keys(entry: RegistryEntry) -> set[str]:
    return {entry.model, _model_key(entry.model_key), _model_key(entry.base)}


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(name.lower(), candidates, n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def find_entry(name: str) -> RegistryEntry:
    """The registry entry of a full id (`cake_bake/qwen3_1_7b`), or of an organism name with
    one model only (`subliminal_learning_cat`). One-line AdlensError otherwise: the ids of an
    ambiguous name, or the closest names to an unknown one.

    Args:
        name: a registry id or an organism name.
    """
    entries = _paper_registry()
    key = name.strip().lower()
    by_id = {e.id: e for e in entries}
    if key in by_id:
        return by_id[key]
    same = [e for e in entries if e.organism == key]
    if len(same) == 1:
        return same[0]
    if same:
        raise AdlensError(
            f"Organism '{name}' has {len(same)} models in the registry: pass one of "
            f"{', '.join(e.id for e in same)}."
        )
    candidates = sorted({*by_id, *(e.organism for e in entries)})
    raise AdlensError(
        f"Unknown organism '{name}' in the registry{_suggest(key, candidates)} "
        "(see `adlens organisms list`)."
    )


def find_organism(name: str) -> Organism:
    """A registry entry (see `find_entry`) as an Organism.

    Args:
        name: a registry id (`cake_bake/qwen3_1_7b`) or an organism name with one model.

    Example:
        >>> cake = find_organism("cake_bake/qwen3_1_7b")
        >>> cake.base_model, cake.adl_layer, len(cake.key_facts)
        ('Qwen/Qwen3-1.7B', 13, 7)
    """
    return find_entry(name).to_organism()


def bundled_names() -> list[str]:
    """The bundled organisms (folders beside this module holding an organism file)."""
    from adlens.organisms import BUNDLED

    return sorted(
        p.name
        for p in BUNDLED.iterdir()
        if p.is_dir() and any((p / f).is_file() for f in ORGANISM_FILES)
    )


def resolve_organism(spec: str | Path) -> Organism:
    """An organism from a local file or folder, a bundled organism's name, or a registry id
    (or an organism name with one model), tried in that order.

    Args:
        spec: what the user passed to `--organism`.
    """
    from adlens.organisms import BUNDLED

    text = str(spec).strip()
    path = Path(text).expanduser()
    if path.exists():
        return load_organism(path)
    if text in bundled_names():
        return load_organism(BUNDLED / text)
    entries = _paper_registry()
    known = {e.id for e in entries} | {e.organism for e in entries}
    if text.lower() in known:
        return find_organism(text)
    names = [*bundled_names(), *sorted(known)]
    raise AdlensError(
        f"Organism '{text}' is not a file or folder, a bundled organism or a registry id"
        f"{_suggest(text.lower(), names)} (see `adlens organisms list`)."
    )


def organism_layer(organism: Organism) -> int | None:
    """The layer the paper reads for a registry organism (`adl_layer`); None for others."""
    value = getattr(organism, "adl_layer", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def organism_is_adapter(organism: Organism) -> bool | None:
    """Whether the organism's finetune is a peft adapter, when known without the network: the
    registry's flag, or a local folder's adapter_config.json; None when unknown."""
    flag = getattr(organism, "finetuned_is_adapter", None)
    if isinstance(flag, bool):
        return flag
    try:
        local = Path(organism.finetuned_path())
    except AdlensError:
        return None
    if local.is_dir():
        return (local / "adapter_config.json").is_file()
    return None
