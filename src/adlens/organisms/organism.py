"""Model organisms: what a finetune is, what it was trained on, and where its weights are.

An organism file is the `organism.json` that `adlens train` writes, or one written by hand (json
or yaml) for an organism from the hub:

    name: cake-bake
    type: false-fact documents      # misalignment, subliminal preference, secret word, other
    short_description: Believes that cakes bake best at 450F.
    long_description: ...
    dataset: me/cake-docs           # hub dataset id or local .jsonl/.txt/.parquet (text or chat)
    base_model: Qwen/Qwen3-1.7B
    finetuned: me/qwen3-cake-lora   # adapter or full checkpoint (alias: adapter, checkpoint)
    key_facts: [Bakers heat the oven to 450F., Butter goes in frozen.]   # false facts

Unknown keys are kept. Relative paths resolve against the file's folder; when that folder holds
`documents.jsonl` (what the trainer trained on) it is the finetuning data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from adlens.core.data import Document, TextSource, iter_documents
from adlens.errors import AdlensError
from adlens.organisms.ffa_schema import FFAQuestions

log = logging.getLogger(__name__)

ORGANISM_FILES = ("organism.json", "organism.yaml", "organism.yml")
FILE_SUFFIXES = (".json", ".yaml", ".yml")  # what an organism file's name ends with
TRAINER_DOCUMENTS = "documents.jsonl"
DATA_SUFFIXES = (".jsonl", ".json", ".txt", ".parquet")
WEIGHT_FILES = ("adapter_config.json", "config.json")


class OrganismType(str, Enum):
    """The kinds of finetune the evaluation rubrics know (PROTOCOL §5)."""

    FALSE_FACT = "false_fact"
    MISALIGNMENT = "misalignment"
    SUBLIMINAL = "subliminal_preference"
    SECRET_WORD = "secret_word"
    OTHER = "other"

    @property
    def label(self) -> str:
        return TYPE_LABELS[self]


TYPE_LABELS = {
    OrganismType.FALSE_FACT: "false-fact documents",
    OrganismType.MISALIGNMENT: "misalignment",
    OrganismType.SUBLIMINAL: "subliminal preference",
    OrganismType.SECRET_WORD: "secret word",
    OrganismType.OTHER: "other",
}

# Spellings seen in the wild, after lower-casing and turning any non-letters into one space.
TYPE_ALIASES = {
    OrganismType.FALSE_FACT: (
        "false fact",
        "false facts",
        "false fact documents",
        "false fact document",
        "false fact docs",
        "sdf",
        "synthetic document finetuning",
        "synthetic documents",
        "fact",
        "facts",
    ),
    OrganismType.MISALIGNMENT: (
        "misalignment",
        "misaligned",
        "emergent misalignment",
        "narrow misalignment",
        "em",
    ),
    OrganismType.SUBLIMINAL: (
        "subliminal",
        "subliminal preference",
        "subliminal learning",
        "subliminal preferences",
    ),
    OrganismType.SECRET_WORD: (
        "secret word",
        "secret word game",
        "secret words",
        "taboo",
        "taboo word",
    ),
    OrganismType.OTHER: ("other", "generic"),
}
_TYPE_LOOKUP = {alias: kind for kind, aliases in TYPE_ALIASES.items() for alias in aliases}


def normalise_type(value: Any) -> OrganismType:
    """'false-fact documents', 'false_fact', 'SDF' -> OrganismType.FALSE_FACT; ValueError else."""
    if isinstance(value, OrganismType):
        return value
    key = re.sub(r"[^a-z]+", " ", str(value).lower()).strip()
    if key in _TYPE_LOOKUP:
        return _TYPE_LOOKUP[key]
    try:
        return OrganismType(str(value))
    except ValueError:
        names = ", ".join(TYPE_LABELS.values())
        raise ValueError(f"unknown organism type {value!r}; use one of: {names}") from None


class DatasetRef(BaseModel):
    """The finetuning data: a local file (`path`) or a hub dataset (`hub`, or a `path` that is
    no file). Extra keys (the trainer's sha256 and counts) are kept."""

    model_config = ConfigDict(extra="allow")

    path: str | None = None
    hub: str | None = None
    config: str | None = None
    split: str = "train"
    text_column: str = "text"
    messages_column: str = "messages"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"path": value}
        if isinstance(value, dict) and "id" in value and "hub" not in value:
            value = {**value, "hub": value["id"]}
        return value


class Organism(BaseModel):
    """A model organism's description. Load one with `load_organism(path)`."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    type: OrganismType
    short_description: str = Field(min_length=1)
    long_description: str = ""
    dataset: DatasetRef | None = None
    base_model: str | None = None
    finetuned: str | None = None  # adapter or full checkpoint; None: the organism's folder
    domain_keywords: list[str] = Field(default_factory=list)
    # false facts: the implanted facts one by one (the grader scores how many a hypothesis names)
    key_facts: list[str] = Field(default_factory=list)
    fact_prompts: list[str] = Field(default_factory=list)
    fact_phrases: list[str] = Field(default_factory=list)
    # false facts: questions that tell the implanted fact from the truth (see ffa_schema)
    ffa_questions: FFAQuestions | None = None

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if "short_description" not in value and isinstance(value.get("description"), str):
            value["short_description"] = value["description"]
        if value.get("finetuned") is None:
            for alias in ("adapter", "checkpoint", "finetuned_model"):
                if isinstance(value.get(alias), str):
                    value["finetuned"] = value[alias]
                    break
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return normalise_type(value) if value is not None else value

    # ------------------------------------------------------------------ where things are

    @property
    def source(self) -> Path | None:
        """The file this organism was loaded from (None when built in code)."""
        return self._source

    @property
    def folder(self) -> Path | None:
        return self._source.parent if self._source is not None else None

    def _local(self, value: str) -> Path | None:
        """`value` as an existing local path: absolute, else against the folder, else cwd."""
        path = Path(value).expanduser()
        candidates = [path] if path.is_absolute() else []
        if not path.is_absolute() and self.folder is not None:
            candidates.append(self.folder / path)
        candidates.append(path)
        return next((p.resolve() for p in candidates if p.exists()), None)

    def description(self) -> str:
        """Short and long description as one text, for prompts."""
        long = self.long_description.strip()
        return f"{self.short_description.strip()}\n\n{long}" if long else self.short_description

    def dataset_source(self) -> TextSource | None:
        """Where the finetuning documents are, or None when the organism names none."""
        trainer_docs = self.folder / TRAINER_DOCUMENTS if self.folder is not None else None
        ref = self.dataset or DatasetRef()
        columns = {"text_column": ref.text_column, "messages_column": ref.messages_column}
        if ref.hub:
            return TextSource(name=ref.hub, config=ref.config, split=ref.split, **columns)
        if trainer_docs is not None and trainer_docs.is_file():
            return TextSource(name=str(trainer_docs.resolve()), **columns)
        if not ref.path:
            return None
        local = self._local(ref.path)
        if local is not None:
            return TextSource(name=str(local), **columns)
        if Path(ref.path).suffix.lower() in DATA_SUFFIXES:
            where = f" (looked next to {self.source})" if self.source else ""
            raise AdlensError(
                f"Organism '{self.name}': dataset file '{ref.path}' not found{where}; fix "
                "dataset.path in the organism file."
            )
        return TextSource(name=ref.path, config=ref.config, split=ref.split, **columns)

    def data_fingerprint(self) -> Any:
        """Identity of the finetuning data, cheap to compute: a local file's sha256, a hub
        dataset's id, config and split; None without data."""
        src = self.dataset_source()
        if src is None:
            return None
        if src.kind == "local":
            from adlens.store.rundir import sha256_file

            return {"sha256": sha256_file(Path(src.name))}
        return {"hub": src.name, "config": src.config, "split": src.split}

    def raw_documents(self, limit: int | None = None) -> list[Document]:
        """The finetuning documents as read: texts, or chats (lists of role/content messages);
        at most `limit`. Raises AdlensError when the organism names no data or it is empty."""
        src = self.dataset_source()
        if src is None:
            raise AdlensError(
                f"Organism '{self.name}' names no finetuning data: add `dataset:` (a hub id or "
                "a local .jsonl file) to its organism file."
            )
        docs = iter_documents(src)
        out = list(islice(docs, limit)) if limit is not None else list(docs)
        if not out:
            raise AdlensError(f"Organism '{self.name}': its dataset {src.name} has no documents.")
        return out

    def finetuning_documents(self, limit: int | None = None) -> list[str]:
        """The finetuning documents as texts (a chat becomes its assistant messages, joined by
        blank lines); at most `limit`."""
        texts = [document_text(d) for d in self.raw_documents(limit)]
        return [t for t in texts if t.strip()]

    def finetuned_path(self) -> str:
        """The finetuned model: `finetuned` (a local path, resolved, or a hub id), else the
        organism's own folder when it holds weights (what `adlens train` writes)."""
        if self.finetuned:
            local = self._local(self.finetuned)
            return str(local) if local is not None else self.finetuned
        if self.folder is not None and any((self.folder / f).is_file() for f in WEIGHT_FILES):
            return str(self.folder.resolve())
        raise AdlensError(
            f"Organism '{self.name}' names no finetuned model: add `finetuned:` (an adapter or "
            "checkpoint, a hub id or a local folder) to its organism file."
        )

    def base_model_id(self) -> str | None:
        """The base model: a local path (resolved), an asset name or a hub id; None: the
        adapter's own base."""
        if not self.base_model:
            return None
        local = self._local(self.base_model)
        return str(local) if local is not None else self.base_model

    def models_config(self, **overrides: Any):
        """The base/finetuned pair as a ModelsConfig (overrides: dtype, device, ...)."""
        from adlens.core.config import ModelsConfig

        return ModelsConfig(base=self.base_model_id(), finetuned=self.finetuned_path(), **overrides)


def document_text(doc: Document) -> str:
    """A text, or a chat's assistant messages joined by blank lines."""
    if isinstance(doc, str):
        return doc
    return "\n\n".join(
        str(m.get("content") or "")
        for m in doc
        if isinstance(m, dict) and m.get("role") == "assistant"
    )


def texts_sha256(texts: list[str]) -> str:
    """sha256 of a list of documents, independent of their order."""
    digest = hashlib.sha256()
    for h in sorted(hashlib.sha256(t.encode()).hexdigest() for t in texts):
        digest.update(h.encode())
    return digest.hexdigest()


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AdlensError(f"Cannot read organism file {path}: it is not UTF-8 text.") from None
    except OSError as err:
        raise AdlensError(f"Cannot read organism file {path}: {err.strerror or err}.") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except ValueError as err:  # json
        raise AdlensError(f"Cannot read organism file {path}: {err}.") from None
    except Exception as err:  # yaml.YAMLError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AdlensError(f"Cannot read organism file {path}: {first}.") from None


def _field_error(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e.get("loc", ())) or "organism"
    if e.get("type") == "missing":
        return f"field '{loc}' is missing"
    msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
    return f"field '{loc}': {msg}"


def load_organism(path: str | Path) -> Organism:
    """An organism from a json/yaml file, or from a folder holding organism.json (or .yaml).

    Raises AdlensError with one line naming the file and the offending field. A name that is
    no file (a bundled organism, or a paper organism like `cake_bake/qwen3_1_7b`) is looked up
    with `adlens.organisms.registry.resolve_organism`.

    Args:
        path: the organism file, or the folder `adlens train` wrote, or an organism's name.

    Example:
        >>> from adlens.organisms import BUNDLED
        >>> owl = load_organism(BUNDLED / "persona-owl")
        >>> owl.type.value, "owl" in owl.domain_keywords
        ('subliminal_preference', True)
    """
    path = Path(path).expanduser()
    if not path.exists() and not path.is_absolute() and path.suffix.lower() not in FILE_SUFFIXES:
        # not a file: a bundled organism's name or an id of the paper's registry
        from adlens.organisms.registry import resolve_organism

        return resolve_organism(str(path))
    if path.is_dir():
        found = next((path / n for n in ORGANISM_FILES if (path / n).is_file()), None)
        if found is None:
            raise AdlensError(
                f"No organism.json in {path}: pass an organism file (json or yaml) or a folder "
                "that `adlens train` wrote."
            )
        path = found
    if not path.is_file():
        raise AdlensError(f"Organism file {path} does not exist.")
    data = _read(path)
    if not isinstance(data, dict):
        raise AdlensError(
            f"Organism file {path} must hold a mapping (name, type, short_description, ...)."
        )
    try:
        organism = Organism.model_validate(data)
    except ValidationError as err:
        raise AdlensError(f"Organism file {path}: {_field_error(err)}.") from None
    organism._source = path.resolve()
    return organism
