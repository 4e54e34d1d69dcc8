"""Text sources: local files of each kind, built-in corpora, chat detection, bad files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adlens.core.data import TextSource, iter_documents
from adlens.errors import AdlensError

TEXTS = [f"Document number {i} talks about something." for i in range(10)]


def test_local_formats_give_the_same_documents(tmp_path):
    (tmp_path / "a.txt").write_text("\n\n".join(TEXTS))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    pq.write_table(pa.table({"text": TEXTS}), tmp_path / "a.parquet")
    got = [
        sorted(iter_documents(TextSource(name=str(tmp_path / f"a.{ext}"))))
        for ext in ("txt", "jsonl", "parquet")
    ]
    assert got[0] == got[1] == got[2] == sorted(TEXTS)


def test_shuffle_is_seeded(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    one = list(iter_documents(TextSource(name=str(path), seed=1)))
    assert one == list(iter_documents(TextSource(name=str(path), seed=1)))
    assert one != list(iter_documents(TextSource(name=str(path), seed=2)))


def test_custom_text_column_and_chat(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"body": "hello there"}) + "\n")
    assert list(iter_documents(TextSource(name=str(path), text_column="body"))) == ["hello there"]
    chat = tmp_path / "c.jsonl"
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    chat.write_text(json.dumps({"messages": msgs}) + "\n")
    assert list(iter_documents(TextSource(name=str(chat)))) == [msgs]


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("bad.jsonl", "{not json\n", "not valid JSON"),
        ("bad.csv", "a,b\n", "Unsupported file type"),
        ("nofield.jsonl", json.dumps({"body": "x"}) + "\n", "text-column"),
    ],
)
def test_bad_files(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(AdlensError, match=words):
        list(iter_documents(TextSource(name=str(path))))


def test_missing_file():
    with pytest.raises(AdlensError, match="does not exist"):
        list(iter_documents(TextSource(name="/nonexistent/file.jsonl")))


def test_first_tokens_equal_full_tokenisation(tokenizer):
    from adlens.core.tokenization import first_tokens
    from conftest import CORPUS

    texts = [" ".join(CORPUS[i:] + CORPUS[:i]) * 3 for i in range(6)] + ["short text", "x" * 500]
    for text in texts:
        for k in (1, 3, 8, 40):
            full = tokenizer(text, truncation=True, max_length=k)["input_ids"]
            assert first_tokens(tokenizer, text, k) == list(full), (text[:40], k)
