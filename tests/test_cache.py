"""The ensemble cache (issue 17, items 1 and 2): keys from canonical descriptions, checked
loads, writes that fail without losing the result, atomic writes, stale .part files."""

import os
import time
from dataclasses import dataclass

import numpy as np
import pytest

from crlib import _cache
from crlib import ensemble as ens
from crlib.diffusion import BADiffusion, KneeBreak, PowerLawDiffusion
from crlib.sources import Cylindrical
from crlib.species import PROTONS
from crlib.units import yr


@pytest.fixture(scope="module")
def tiny():
    return ens.Scenario(sources=Cylindrical(), rate=1 / (1000 * yr), T=1.0, H=4.0,
                        diffusion=BADiffusion(1 / 3, 4.0), energies=(1e3, 1e5),
                        injection_index=2.67 - 1 / 3, species=PROTONS)


def _with(sc, **kw):
    return ens.Scenario(**{**sc.__dict__, **kw})


class PlainModel:
    """A user diffusion model without __repr__, describe() or dataclass: repr has an address."""

    def __init__(self, D0):
        self.D0 = D0

    def D(self, E, Z=1.0):
        return self.D0 * (np.asarray(E) / Z) ** 0.3


@dataclass(frozen=True)
class UserModel:
    D0: float

    def D(self, E, Z=1.0):
        return self.D0 * (np.asarray(E) / Z) ** 0.3


class DescribedModel(PlainModel):
    def describe(self):
        return {"D0": self.D0}


# ----------------------------------------------------------------------------- keys
def test_fifty_user_models_get_fifty_keys(tiny):
    """The bug: repr() of address-printing objects, reused by Python, gave 50 models 3 keys.
    Dataclass and describe() models are described by value, so 50 values give 50 keys."""
    keys_dc, keys_desc = set(), set()
    for i in range(50):
        keys_dc.add(_with(tiny, diffusion=UserModel(0.01 * (1 + i))).key(2, 0))     # dropped at once
        keys_desc.add(_with(tiny, diffusion=DescribedModel(0.01 * (1 + i))).key(2, 0))
    assert len(keys_dc) == 50 and len(keys_desc) == 50
    assert keys_dc.isdisjoint(keys_desc)
    # equal parameters, different objects: the same key
    assert _with(tiny, diffusion=UserModel(0.5)).key(2, 0) == _with(tiny, diffusion=UserModel(0.5)).key(2, 0)


def test_undescribable_model_is_refused_only_when_caching(tiny, tmp_path):
    sc = _with(tiny, diffusion=PlainModel(0.03))
    with pytest.raises(ValueError, match=r"diffusion.*cannot be described.*describe\(\)"):
        sc.key(2, 0)
    with pytest.raises(ValueError, match="cannot be described"):
        ens.run_ensemble(sc, 1, seed=0, cache_dir=tmp_path, progress=False)
    r = ens.run_ensemble(sc, 1, seed=0, progress=False)          # without a cache it runs
    assert r.key == "" and np.all(np.isfinite(r.delta))
    assert os.listdir(tmp_path) == []


def test_floats_are_described_exactly(tiny):
    H = 4.0
    assert _with(tiny, H=H).key(2, 0) != _with(tiny, H=np.nextafter(H, 5.0)).key(2, 0)
    assert _cache.canonical(0.1) != _cache.canonical(0.1 + 2**-56)
    assert _cache.canonical(1) != _cache.canonical(1.0)          # int and float differ in kind


def test_arrays_are_described_by_dtype_shape_and_bytes():
    a = np.arange(6.0)
    assert _cache.canonical(a) == _cache.canonical(a.copy())
    assert _cache.canonical(a) != _cache.canonical(a.reshape(2, 3))
    assert _cache.canonical(a) != _cache.canonical(a.astype(np.float32))
    b = a.copy()
    b[3] = np.nextafter(b[3], 10)
    assert _cache.canonical(a) != _cache.canonical(b)
    with pytest.raises(ValueError, match="object array"):
        _cache.canonical(np.array([object()]))


def test_nested_models_and_every_field_enter_the_key(tiny):
    base = PowerLawDiffusion(0.01, 0.3)
    k1 = _with(tiny, diffusion=KneeBreak(base)).key(2, 0)
    k2 = _with(tiny, diffusion=KneeBreak(base, B=2 * KneeBreak(base).B)).key(2, 0)
    k3 = _with(tiny, diffusion=KneeBreak(PowerLawDiffusion(0.01, 0.31))).key(2, 0)
    keys = {k1, k2, k3, tiny.key(2, 0), tiny.key(3, 0), tiny.key(2, 1),
            _with(tiny, tol=1e-9).key(2, 0), _with(tiny, scheme="sh").key(2, 0),
            _with(tiny, spallation=False).key(2, 0), _with(tiny, energies=(1e3, 1e6)).key(2, 0)}
    assert len(keys) == 10


def test_user_class_code_enters_the_key():
    """Two user dataclasses with equal fields but different D methods describe differently."""
    @dataclass(frozen=True)
    class A:
        D0: float

        def D(self, E, Z=1.0):
            return self.D0 * E

    first = _cache.canonical(A(1.0))

    @dataclass(frozen=True)
    class A:                                                   # noqa: F811 (redefined on purpose)
        D0: float

        def D(self, E, Z=1.0):
            return self.D0 * E * 2

    assert _cache.canonical(A(1.0)) != first


def test_code_identity_and_versions_enter_the_key(tiny, tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("x = 1\n")
    d0 = _cache.tree_digest(pkg)
    (pkg / "m.py").write_text("x = 2\n")
    d1 = _cache.tree_digest(pkg)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "m.cpython.pyc").write_bytes(b"junk")
    assert d0 != d1 and _cache.tree_digest(pkg) == d1          # bytecode caches do not count
    assert len(_cache.code_identity()) == 64
    k = tiny.key(2, 0)
    monkeypatch.setattr(_cache, "code_identity", lambda: "0" * 64)
    k_code = tiny.key(2, 0)
    monkeypatch.setattr(np, "__version__", "0.0.0")
    k_np = tiny.key(2, 0)
    assert len({k, k_code, k_np}) == 3


# ----------------------------------------------------------------------------- loads
@pytest.fixture(scope="module")
def stored(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    res = ens.run_ensemble(tiny, 2, seed=4, cache_dir=folder, progress=False)
    path = folder / f"ensemble-{res.key}.npz"
    return res, path, path.read_bytes()


def _forge(path, key, **changes):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k != "key"}
    arrays.update(changes)
    np.savez(path, key=np.array(key), **arrays)


@pytest.mark.parametrize("forgery, reason", [
    (lambda a: {"delta": a.delta[:1], "n": a.n[:1], "n_sources": a.n_sources[:1],
                "far_age": a.far_age[:1]}, "shape"),                 # one realization instead of two
    (lambda a: {"delta": a.delta.astype(np.float32)}, "dtype"),
    (lambda a: {"delta": np.full_like(a.delta, np.nan)}, "non-finite dipoles"),
    (lambda a: {"energies": a.energies * 2}, "energies differ"),
    (lambda a: {"D": a.D * 1.5}, "diffusion coefficients differ"),
    (lambda a: {"n": -a.n}, "densities"),
    (lambda a: {"far_age": a.far_age * 10}, "far ages"),
    (lambda a: {"n_sources": a.n_sources.astype(np.int32)}, "dtype"),
])
def test_forged_or_stale_files_are_recomputed(tiny, stored, forgery, reason):
    res, path, good = stored
    try:
        _forge(path, res.key, **forgery(res))
        with pytest.warns(RuntimeWarning, match=reason):
            again = ens.run_ensemble(tiny, 2, seed=4, cache_dir=path.parent, progress=False)
        np.testing.assert_array_equal(again.delta, res.delta)
        np.testing.assert_array_equal(again.n, res.n)
        with np.load(path) as f:                               # and the file was rewritten
            np.testing.assert_array_equal(f["delta"], res.delta)
    finally:
        path.write_bytes(good)


def test_missing_array_and_wrong_key_are_not_trusted(tiny, stored):
    res, path, good = stored
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files if k not in ("key", "D")}
        np.savez(path, key=np.array(res.key), **arrays)
        with pytest.warns(RuntimeWarning, match="'D' is missing"):
            ens.run_ensemble(tiny, 2, seed=4, cache_dir=path.parent, progress=False)
        _forge(path, "another-key")
        assert ens._load(str(path), res.key, tiny, 2) is None
    finally:
        path.write_bytes(good)


def test_valid_file_is_served_without_recomputing(tiny, stored, monkeypatch):
    res, path, good = stored
    monkeypatch.setattr(ens, "realization", lambda *a, **k: pytest.fail("recomputed"))
    b = ens.run_ensemble(tiny, 2, seed=4, cache_dir=path.parent, progress=False)
    np.testing.assert_array_equal(b.delta, res.delta)
    assert b.key == res.key


# ----------------------------------------------------------------------------- writes
def test_result_survives_a_failed_write(tiny, tmp_path, monkeypatch):
    """The bug: an OSError after the whole ensemble was computed lost it."""
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.warns(RuntimeWarning, match="could not write"):
        r = ens.run_ensemble(tiny, 1, seed=1, cache_dir=not_a_folder, progress=False)
    ref = ens.run_ensemble(tiny, 1, seed=1, progress=False)
    np.testing.assert_array_equal(r.delta, ref.delta)

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.warns(RuntimeWarning, match="No space left"):
        r2 = ens.run_ensemble(tiny, 1, seed=1, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(r2.delta, ref.delta)
    assert [f for f in os.listdir(tmp_path) if f != "file"] == []    # no .part, no partial file


def test_write_is_atomic(tmp_path, monkeypatch):
    path = str(tmp_path / "ensemble-k.npz")

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        _cache.save(path, "k", {"a": np.ones(3)})
    assert os.listdir(tmp_path) == []                          # neither the target nor a .part
    monkeypatch.undo()
    _cache.save(path, "k", {"a": np.ones(3)})
    assert os.listdir(tmp_path) == ["ensemble-k.npz"]


def test_stale_part_files_are_removed(tiny, tmp_path):
    old = tmp_path / "ensemble-abc.x1.npz.part"
    fresh = tmp_path / "ensemble-abc.x2.npz.part"
    other = tmp_path / "notes.part"
    for f in (old, fresh, other):
        f.write_bytes(b"partial")
    t_old = time.time() - 2 * _cache.STALE_PART_SECONDS
    os.utime(old, (t_old, t_old))
    os.utime(other, (t_old, t_old))
    ens.run_ensemble(tiny, 1, seed=0, cache_dir=tmp_path, progress=False)
    left = sorted(os.listdir(tmp_path))
    assert old.name not in left                               # killed write: removed
    assert fresh.name in left                                 # may be a write in progress: kept
    assert other.name in left                                 # not ours: kept
    assert sum(f.endswith(".npz") for f in left) == 1


def test_bad_cache_dir_is_named(tiny):
    with pytest.raises(ValueError, match="cache_dir"):
        ens.run_ensemble(tiny, 1, cache_dir=3, progress=False)


def test_near_radius_ensemble_round_trips_through_the_cache(tmp_path):
    """far_age may be anything in [0, T] with near_radius (0 when no far source is needed)."""
    import warnings

    sc = ens.Scenario(sources=Cylindrical(), rate=1 / (1000 * yr), T=2.0, H=0.25,
                      diffusion=BADiffusion(1 / 3, 4.0), energies=(1e3, 1e5),
                      injection_index=2.3, species=PROTONS, near_radius=2.0)
    a = ens.run_ensemble(sc, 2, seed=1, cache_dir=tmp_path, progress=False)
    assert np.all((a.far_age >= 0) & (a.far_age <= sc.T))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = ens.run_ensemble(sc, 2, seed=1, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(a.delta, b.delta)
    np.testing.assert_array_equal(a.far_age, b.far_age)
