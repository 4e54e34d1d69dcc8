"""The finetuning documents D of an organism, for the similarity and causal evaluations.

`--organism` is an organism file or folder (see adlens.organisms.organism), or directly a .jsonl of
documents ({"text"} or {"messages"} per line).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from adlens.core.data import Document, TextSource, iter_documents
from adlens.errors import AdlensError
from adlens.organisms.organism import Organism, document_text, load_organism
from adlens.store.rundir import sha256_file

__all__ = ["document_text", "organism_documents", "organism_fingerprint", "sample"]


def _documents_file(path: Path | str) -> Path | None:
    path = Path(path).expanduser()
    return path if path.suffix.lower() == ".jsonl" and path.is_file() else None


def organism_documents(path: Path | str | Organism) -> list[Document]:
    """The finetuning documents as read: strings, or chats (lists of role/content messages)."""
    if isinstance(path, Organism):
        return path.raw_documents()
    file = _documents_file(path)
    if file is None:
        return load_organism(path).raw_documents()
    docs = list(iter_documents(TextSource(name=str(file))))
    if not docs:
        raise AdlensError(f"{file} holds no documents ({{'text'}} or {{'messages'}} per line).")
    return docs


def organism_fingerprint(path: Path | str | Organism) -> Any:
    """Identity of the finetuning data: part of the evaluation caches' config hashes."""
    if isinstance(path, Organism):
        return path.data_fingerprint()
    file = _documents_file(path)
    return {"sha256": sha256_file(file)} if file else load_organism(path).data_fingerprint()


def sample(items: list, n: int, seed: int) -> list:
    """n items in a seeded random order (all of them, shuffled, when there are fewer)."""
    items = list(items)
    random.Random(seed).shuffle(items)
    return items[:n]
