"""The public API: complete __all__ lists, lazy top-level entry points, no stale citations."""

import importlib
import inspect
import pathlib
import subprocess
import sys

import pytest

import crlib

MODULES = ["analytic", "anisotropy", "data", "diffusion", "ensemble", "galaxy", "green",
           "largescale", "observable", "plotting", "presets", "scan", "sources", "species", "units",
           "widgets"]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_every_public_name(name):
    mod = importlib.import_module(f"crlib.{name}")
    assert hasattr(mod, "__all__")
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing
    own = [n for n, o in vars(mod).items()
           if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
           and getattr(o, "__module__", "").startswith(f"crlib.{name}")]
    assert not [n for n in own if n not in mod.__all__]


def test_top_level_entry_points_are_the_module_objects():
    for name, module in crlib._ENTRY_POINTS.items():
        assert getattr(crlib, name) is getattr(importlib.import_module(f"crlib.{module}"), name)
    assert set(crlib._ENTRY_POINTS) <= set(crlib.__all__) and "run_ensemble" in dir(crlib)
    with pytest.raises(AttributeError, match="no_such_name"):
        crlib.no_such_name


def test_import_crlib_is_light():
    """``import crlib`` loads no numba, scipy or crlib submodule until a name is used."""
    code = ("import sys, crlib; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numba', 'scipy') or m.startswith('crlib.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_no_docstring_cites_the_missing_model_file():
    root = pathlib.Path(crlib.__file__).parent
    stale = [str(p) for p in root.rglob("*.py") if "MODEL.md" in p.read_text()
             and not p.name.startswith("green") and "green" not in p.parts]
    assert not stale


def test_source_classes_pickle_under_the_package_name():
    import pickle
    from crlib import sources as S
    for m in (S.Cylindrical(), S.SpiralArms(w=2.8), S.ExponentialDisk(), S.MovingSpiralArms()):
        assert type(m).__module__ == "crlib.sources"
        assert pickle.loads(pickle.dumps(m)) == m
