"""Ensembles: the uniform-disk fluctuation closed form (BA eqs. 3.9-3.13), reproducibility, cache, dask."""

import os

import numba
import numpy as np
import pytest

from crlib import ensemble as ens
from crlib.diffusion import BADiffusion
from crlib.green import observe
from crlib.sources import Cylindrical
from crlib.species import PROTONS
from crlib.units import c_light, yr


# ----------------------------------------------------------------------------------------------
# Monte Carlo against BA's closed form for a uniform thin disk (observer at its centre)
R_D, RATE, D, H = 10.0, 1000.0, 1.0, 3.0          # kpc, 1/Myr, kpc^2/Myr, kpc
T_MIN = (4 * RATE * D / R_D**2) ** -0.5          # BA eq. 3.12
T_SPAN = 5.0                                      # Myr; the |J|^2 integrand falls like tau^-3


def _uniform_disk(rng, t_lo, t_hi):
    n = rng.poisson(RATE * (t_hi - t_lo))
    r = R_D * np.sqrt(rng.random(n))
    phi = 2 * np.pi * rng.random(n)
    return r * np.cos(phi), r * np.sin(phi), np.zeros(n), rng.uniform(t_lo, t_hi, n)


def test_uniform_disk_current_fluctuation_matches_BA_3_9():
    """<dJ.dJ> over realizations (sources younger than T_min excluded) against BA eq. 3.9.

    For independent Poisson sources <J> = 0 at the centre and E|J|^2 is the sum of the
    single-source terms (Campbell), so the Monte Carlo mean converges to
    R / (128 pi^3 D T_min^2 R_d^2) up to (T_min/T)^2 and image corrections (< 0.3 % here).
    """
    assert H**2 / (D * T_MIN) > 50          # the regime of eq. 3.9
    rng = np.random.default_rng(20120111)
    J2 = []
    for _ in range(300):
        x, y, z, t = _uniform_disk(rng, T_MIN, T_SPAN)
        _, grad = observe(x, y, z, t, np.array([D]), H, observer=(0.0, 0.0, 0.0), tol=1e-8)
        J2.append(np.sum((D * grad[0]) ** 2))
    J2 = np.array(J2)
    closed = RATE / (128 * np.pi**3 * D * T_MIN**2 * R_D**2)
    se = J2.std(ddof=1) / np.sqrt(J2.size)
    assert abs(J2.mean() - closed) < 4 * se + 0.01 * closed, (J2.mean(), closed, se)
    assert se < 0.1 * closed                # the test has power


def test_uniform_disk_mean_density_and_delta_A2_match_BA_3_10_and_3_13():
    """Mean density at the centre against BA eq. 3.10, then delta_A2 of eq. 3.13 from 3.9 and 3.10.

    The density of a single realization is heavy-tailed (a very young, very close source
    dominates), so sources younger than t_lo are left out of the Monte Carlo and their
    expected share, (R / pi R_d^2) sqrt(t_lo / (pi D)) (free-space vertical factor, exact
    while H^2/(D t_lo) >> 1), is taken out of the closed form.
    """
    t_lo = 0.5
    rng = np.random.default_rng(7)
    n_mc = []
    for _ in range(6):
        x, y, z, t = _uniform_disk(rng, t_lo, 60.0)   # exp(-pi^2 D t / 4H^2) ~ 1e-7 at 60 Myr
        n, _ = observe(x, y, z, t, np.array([D]), H, observer=(0.0, 0.0, 0.0), tol=1e-8)
        n_mc.append(n[0])
    n_closed = RATE * H / (2 * np.pi * R_D**2 * D)               # BA eq. 3.10, N = 1
    young = RATE / (np.pi * R_D**2) * np.sqrt(t_lo / (np.pi * D))
    se = np.std(n_mc, ddof=1) / np.sqrt(len(n_mc))
    assert abs(np.mean(n_mc) - (n_closed - young)) < 4 * se + 0.01 * n_closed
    dJ2 = RATE / (128 * np.pi**3 * D * T_MIN**2 * R_D**2)         # BA eq. 3.9
    dA2 = np.sqrt(dJ2) / (c_light * n_closed / 3)                # BA eq. 3.4
    assert dA2 == pytest.approx(3 / (2**1.5 * np.sqrt(np.pi)) * D / (H * c_light), rel=1e-12)


# ----------------------------------------------------------------------------------------------
# Reproducibility, backends and cache on a small cylindrical scenario
@pytest.fixture(scope="module")
def small():
    return ens.Scenario(sources=Cylindrical(), rate=1 / (1000 * yr), T=4.0, H=4.0,
                        diffusion=BADiffusion(1 / 3, 4.0), energies=(1e3, 1e4, 1e5, 1e6, 1e7),
                        injection_index=2.67 - 1 / 3)


def test_realization_shapes_and_all_particle_reduction(small):
    r = ens.realization(small, np.random.SeedSequence(5))
    assert r["n"].shape == (5, 5) and r["grad"].shape == (5, 5, 3) and r["delta"].shape == (5, 3)
    one = ens.Scenario(**{**small.__dict__, "species": PROTONS})
    rp = ens.realization(one, np.random.SeedSequence(5))
    D = one.diffusion.D(np.array(one.energies), 1)
    np.testing.assert_allclose(rp["delta"], 3 * D[:, None] * rp["grad"][0] / (c_light * rp["n"][0][:, None]),
                               rtol=1e-12)


def test_same_result_for_one_and_two_threads(small):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = ens.run_ensemble(small, 3, seed=11, progress=False)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = ens.run_ensemble(small, 3, seed=11, progress=False)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a.delta, b.delta)
    np.testing.assert_array_equal(a.n, b.n)


def test_realizations_are_independent_of_ensemble_size(small):
    a = ens.run_ensemble(small, 2, seed=3, progress=False)
    b = ens.run_ensemble(small, 4, seed=3, progress=False)
    np.testing.assert_array_equal(a.delta, b.delta[:2])
    assert not np.array_equal(b.delta[0], b.delta[1])


def test_shared_histories_equal_separate_runs_bit_for_bit(small, tmp_path):
    """run_ensembles draws each history once (and sums scenarios that select the same
    sources in one kernel call); every scenario's result (and cache entry) is the one
    run_ensemble gives on its own."""
    variants = [small, ens.Scenario(**{**small.__dict__, "H": 2.0}),
                ens.Scenario(**{**small.__dict__, "min_age": 0.05}),
                ens.Scenario(**{**small.__dict__, "injection_index": 2.5}),
                ens.Scenario(**{**small.__dict__, "tau_snr": 3e4 * yr}),
                ens.Scenario(**{**small.__dict__, "species": PROTONS})]
    together = ens.run_ensembles(variants, 3, seed=4, cache_dir=tmp_path, progress=False)
    for sc, res in zip(variants, together):
        alone = ens.run_ensemble(sc, 3, seed=4, progress=False)
        assert res.key == alone.key
        for name in ("delta", "n", "n_sources", "far_age", "D"):
            np.testing.assert_array_equal(getattr(res, name), getattr(alone, name))
        # the cache written by run_ensembles is the one run_ensemble reads
        assert (tmp_path / f"ensemble-{res.key}.npz").exists()
    # the histories differ between realizations and the variants differ from each other
    assert not np.array_equal(together[0].delta[0], together[0].delta[1])
    assert not np.array_equal(together[0].delta, together[1].delta)
    # a second call reads every result from the cache
    again = ens.run_ensembles(variants, 3, seed=4, cache_dir=tmp_path, progress=False)
    for a, b in zip(together, again):
        np.testing.assert_array_equal(a.delta, b.delta)


@pytest.mark.parametrize("bad, name", [
    ([], "scenarios"), (None, "scenarios"), ([1.0], "scenarios"),
])
def test_shared_histories_bad_input(bad, name):
    with pytest.raises(ValueError, match=name):
        ens.run_ensembles(bad, 2)


def test_shared_histories_need_the_same_history_law(small):
    other = ens.Scenario(**{**small.__dict__, "rate": small.rate * 2})
    with pytest.raises(ValueError, match="share sources, rate and T"):
        ens.run_ensembles([small, other], 2)
    with pytest.raises(ValueError, match="n_realizations"):
        ens.run_ensembles([small], 0)


def test_dask_backend_is_identical(small):
    pytest.importorskip("dask.distributed")
    a = ens.run_ensemble(small, 3, seed=2, progress=False)
    b = ens.run_ensemble(small, 3, seed=2, backend="dask")
    np.testing.assert_array_equal(a.delta, b.delta)
    np.testing.assert_array_equal(a.n_sources, b.n_sources)


def test_cache_hit_and_truncated_file(small, tmp_path, monkeypatch):
    a = ens.run_ensemble(small, 2, seed=9, cache_dir=tmp_path, progress=False)
    path = tmp_path / f"ensemble-{a.key}.npz"
    assert path.exists()
    calls = []
    real = ens.realization
    monkeypatch.setattr(ens, "realization", lambda *args, **kw: calls.append(1) or real(*args, **kw))
    b = ens.run_ensemble(small, 2, seed=9, cache_dir=tmp_path, progress=False)
    assert calls == []                                    # served from the cache
    np.testing.assert_array_equal(a.delta, b.delta)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])              # a partial write
    c = ens.run_ensemble(small, 2, seed=9, cache_dir=tmp_path, progress=False)
    assert len(calls) == 2                                # recomputed
    np.testing.assert_array_equal(a.delta, c.delta)
    assert not any(f.endswith(".part") for f in os.listdir(tmp_path))


def test_cache_key_changes_with_every_parameter(small):
    keys = {small.key(10, 0), small.key(11, 0), small.key(10, 1),
            ens.Scenario(**{**small.__dict__, "H": 3.0}).key(10, 0),
            ens.Scenario(**{**small.__dict__, "tau_snr": 0.03}).key(10, 0)}
    assert len(keys) == 5


def test_bands_and_probabilities_against_definitions():
    rng = np.random.default_rng(0)
    a = rng.lognormal(size=(4000, 3))
    b = ens.bands(a, levels=(0.683,))[0.683]
    inside = (a >= b[0]) & (a <= b[1])
    assert inside.mean(axis=0) == pytest.approx([0.683] * 3, abs=0.01)
    # independent columns: P(outside at any energy) = 1 - 0.683^3
    assert ens.prob_outside(a, b) == pytest.approx(1 - 0.683**3, abs=0.02)


def test_angles_to_mean_direction():
    d = np.zeros((2, 1, 3))
    d[0, 0] = [1, 0.2, 0]
    d[1, 0] = [1, -0.2, 0]
    ang = ens.angles_to_mean(d)
    np.testing.assert_allclose(ang[:, 0], np.arctan(0.2), rtol=1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda s: ens.run_ensemble(s, 0), "n_realizations"),
    (lambda s: ens.run_ensemble(s, 2, seed=-1), "seed"),
    (lambda s: ens.run_ensemble(s, 2, backend="mpi"), "backend"),
    (lambda s: ens.run_ensemble("x", 2), "scenario"),
    (lambda s: ens.Scenario(**{**s.__dict__, "H": -1.0}), "H"),
    (lambda s: ens.Scenario(**{**s.__dict__, "energies": (1e3, -5.0)}), "energies"),
    (lambda s: ens.Scenario(**{**s.__dict__, "tol": 2.0}), "tol"),
    (lambda s: ens.bands(np.ones((3, 2)), levels=(1.5,)), "levels"),
])
def test_bad_input(small, call, name):
    with pytest.raises(ValueError, match=name):
        call(small)
