"""The public API's docstrings: every function of `adlens.__all__` documents its arguments and
shows an example, and every example runs (as a doctest, on tiny random models)."""

from __future__ import annotations

import doctest
import inspect

import pytest

import adlens
from conftest import small_run

PUBLIC = [name for name in adlens.__all__ if name != "__version__"]


@pytest.fixture(scope="module")
def namespace(tiny_dirs, tmp_path_factory):
    """What the examples may use: `cfg` (a RunConfig of a tiny pair and corpus), `pair`, `diff`,
    `tmp` (a folder that holds the corpus) and every public name."""
    tmp = tmp_path_factory.mktemp("doctest")
    cfg = small_run(tiny_dirs, tmp, scales=[1.0, 2.0], top_k=5)
    pair = adlens.load_pair(cfg.models)
    layers, docs, norm_inputs = adlens.prepare_inputs(pair, cfg.collect)
    diff = adlens.collect(pair, docs, layers, norm_inputs=norm_inputs, show_progress=False)
    names = {name: getattr(adlens, name) for name in PUBLIC}
    return {"adlens": adlens, **names, "cfg": cfg, "pair": pair, "diff": diff, "tmp": tmp}


def _is_function(obj) -> bool:
    return inspect.isfunction(obj)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_is_documented(name):
    obj = getattr(adlens, name)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"adlens.{name} has no docstring"
    if _is_function(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        if params:
            assert "Args:" in doc, f"adlens.{name}: no Args section"
            for param in params:
                assert f"{param}:" in doc or f"{param} " in doc, f"adlens.{name}: {param}?"
        assert ">>>" in doc, f"adlens.{name}: no example"


@pytest.mark.parametrize("name", PUBLIC)
def test_public_examples_run(name, namespace, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    obj = getattr(adlens, name)
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    module = vars(inspect.getmodule(obj))
    for test in finder.find(obj, f"adlens.{name}", globs={**module, **namespace}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"adlens.{name}: {result.failed} example(s) failed (see stdout)"
