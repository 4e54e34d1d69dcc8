"""Text helpers for the corpora: Brown's tagged tokens to clean text, and paragraphs packed
into documents of about 300 words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

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
