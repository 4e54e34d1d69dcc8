"""The public API: every name in adlens.__all__ resolves, and `import adlens` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import adlens


def test_every_public_name_resolves_to_its_definition():
    for name in adlens.__all__:
        value = getattr(adlens, name)
        if name != "__version__":
            assert getattr(value, "__name__", name) == name, name
    assert adlens.run.__module__ == "adlens.pipeline.stages"


def test_import_adlens_loads_no_torch():
    code = "import sys, adlens; print('torch' in sys.modules, adlens.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", adlens.__version__]


def test_unknown_name_is_an_attribute_error():
    try:
        adlens.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("adlens.no_such_name resolved")
