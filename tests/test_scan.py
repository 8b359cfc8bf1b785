"""Tests of crlib.scan: distributed == serial bit for bit, the per-point cache, acceptance
fractions against closed forms, BA's grammage constraint and validation of grids."""

import dataclasses
import os

import numpy as np
import pytest
from scipy.stats import beta, norm

import crlib.ensemble
from crlib import scan as S
from crlib.diffusion import BADiffusion
from crlib.observable import first_harmonic_band
from crlib.presets import sh_scenario
from crlib.units import GeV, TeV, cm2_per_s, kpc, yr

# a cheap SH variant: thin halo, loose tolerance, few energies (tens of ms per realization)
FIXED = dict(E_range=S.FIT_RANGE, n_energies=6, tol=1e-3)
GRID = {"h": (0.16, 0.2), "D0": (6e26 * cm2_per_s, 1.2e27 * cm2_per_s)}


def _same(a, b):
    assert a.names == b.names
    for x, y in zip(a.axes, b.axes):
        assert np.array_equal(x, y)
    assert np.array_equal(a.seeds, b.seeds)
    assert np.array_equal(a.keys, b.keys)
    assert np.array_equal(a.d2, b.d2)          # bit for bit
    assert np.array_equal(a.r1, b.r1)


@pytest.fixture(scope="module")
def serial():
    return S.scan(sh_scenario, GRID, 3, seed=5, fixed=FIXED, backend="serial", progress=False)


def test_dask_two_workers_equals_serial_bitwise(serial):
    pytest.importorskip("distributed")
    client = S.local_cluster(n_workers=2)
    try:
        # the workers run the kernels on one numba thread each; this process on more
        assert client.run(lambda: __import__("numba").get_num_threads()) != {}
        assert all(v == 1 for v in client.run(lambda: __import__("numba").get_num_threads()).values())
        assert len(client.scheduler_info()["workers"]) == 2
        dist = S.scan(sh_scenario, GRID, 3, seed=5, fixed=FIXED, client=client, progress=False)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    _same(serial, dist)
    assert serial.d2.shape == (2, 2, 3) and serial.r1.shape == (2, 2, 3, 6)
    assert np.all(np.isfinite(serial.d2)) and np.all(serial.d2 > 0)
    # different points got different seeds, and so different skies
    assert np.unique(serial.seeds).size == 4
    assert not np.array_equal(serial.d2[0, 0], serial.d2[1, 1])


def test_point_seeds_follow_seedsequence():
    seeds = S.point_seeds(11, 3)
    kids = np.random.SeedSequence(11).spawn(3)
    assert seeds == [int(k.generate_state(1, np.uint64)[0]) for k in kids]
    assert S.point_seeds(11, 5)[:3] == seeds          # a longer grid keeps the first seeds


def test_cache_hit_and_truncated_file(tmp_path, serial, monkeypatch):
    cache = str(tmp_path / "cache")
    first = S.scan(sh_scenario, GRID, 3, seed=5, fixed=FIXED, backend="serial",
                   cache_dir=cache, progress=False)
    _same(serial, first)
    assert first.computed == 4
    files = sorted(os.listdir(cache))
    assert len(files) == 4

    # second run: nothing is computed (a realization would raise), same numbers
    def boom(*args, **kwargs):
        raise AssertionError("realization called although the cache should be hit")

    with monkeypatch.context() as m:
        m.setattr(crlib.ensemble, "realization", boom)
        second = S.scan(sh_scenario, GRID, 3, seed=5, fixed=FIXED, backend="serial",
                        cache_dir=cache, progress=False)
    assert second.computed == 0
    _same(first, second)

    # truncate one cache file: it is detected, recomputed and rewritten, numbers unchanged
    path = os.path.join(cache, files[1])
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    third = S.scan(sh_scenario, GRID, 3, seed=5, fixed=FIXED, backend="serial",
                   cache_dir=cache, progress=False)
    assert third.computed == 1
    assert os.path.getsize(path) == size
    _same(first, third)


def _toy_table(E0, A0, err):
    dt = [("experiment", "U20"), ("detector_type", "U20"), ("E_GeV", float), ("amplitude", float),
          ("stat_lo", float), ("stat_hi", float), ("sys_lo", float), ("sys_hi", float),
          ("upper_limit", bool), ("duplicate", bool)]
    return np.array([("toy", "air shower", E0, A0, err, err, 0.0, 0.0, False, False)], dtype=dt)


def test_acceptance_toy_lognormal_closed_form():
    """One measured point; model ln r1 = ln A0 + mu + s Z at every energy.  With the
    relative error sigma_i of that point, d^2 = ((mu + s Z)/sigma_i)^2 and
    P(d^2 <= t) = Phi((sigma_i sqrt t - mu)/s) - Phi((-sigma_i sqrt t - mu)/s)."""
    E = np.geomspace(1 * TeV, 100 * TeV, 5)
    A0, err, floor = 1e-3, 1e-4, 0.05
    table = _toy_table(10 * TeV, A0, err)
    sig_i = np.hypot(err / A0, floor)
    mu, s, N = 0.1, 0.3, 20000
    rng = np.random.default_rng(3)
    r1 = A0 * np.exp(mu + s * rng.standard_normal(N))[:, None] * np.ones(E.size)
    # dipole vectors along a fixed direction whose band projection gives exactly r1
    u = np.array([0.3, -0.5, 0.81])
    g = first_harmonic_band(u, *S.NORTH_BAND)[0]
    delta = (r1 / g)[..., None] * u
    r1_back, _ = first_harmonic_band(delta, *S.NORTH_BAND)
    d2 = crlib.observable.distance_to_data(E, r1_back, table=table, rel_floor=floor)
    for t in (0.5, 2.0, 9.0):
        p = norm.cdf((sig_i * np.sqrt(t) - mu) / s) - norm.cdf((-sig_i * np.sqrt(t) - mu) / s)
        acc = S.acceptance(d2, t, level=0.997)
        assert abs(acc["fraction"] - p) < 4 * np.sqrt(p * (1 - p) / N)
        assert acc["lo"] <= p <= acc["hi"]
        assert acc["sigma"] == pytest.approx(np.sqrt(acc["fraction"] * (1 - acc["fraction"]) / N))


def test_acceptance_interval_closed_forms():
    n, level = 40, 0.683
    a = (1 - level) / 2
    none = S.acceptance(np.full(n, 5.0), 1.0, level)          # no realization accepted
    assert none["fraction"] == 0 and none["lo"] == 0
    assert none["hi"] == pytest.approx(1 - a ** (1 / n), rel=1e-10)
    allk = S.acceptance(np.zeros(n), 1.0, level)               # all accepted
    assert allk["hi"] == 1 and allk["lo"] == pytest.approx(a ** (1 / n), rel=1e-10)
    d = np.arange(n, dtype=float)                              # k = 11 of 40 with d <= 10
    mid = S.acceptance(np.stack([d, d[::-1]]), 10.0, level)
    assert np.all(mid["k"] == 11)
    assert mid["lo"][0] == pytest.approx(beta.ppf(a, 11, n - 10), rel=1e-8)
    assert mid["hi"][0] == pytest.approx(beta.ppf(1 - a, 12, n - 11), rel=1e-8)


def test_phase_distance_closed_form():
    dt = [("E_GeV", float), ("phase_deg", float), ("err_lo_deg", float), ("err_hi_deg", float),
          ("duplicate", bool)]
    table = np.array([(10 * TeV, 350.0, 20.0, 15.0, False), (20 * TeV, 0.0, 0.0, 0.0, True)], dtype=dt)
    E = np.geomspace(1 * TeV, 100 * TeV, 4)
    # unit dipoles whose equatorial projection has RA phase 20 deg (30 deg from 350, across 0)
    u = crlib.observable.galactocentric_to_equatorial(np.eye(3))   # rows: images of the axes
    eq = np.array([np.cos(np.radians(20.0)), np.sin(np.radians(20.0)), 0.4])
    vec = np.linalg.solve(u.T, eq)                                  # Galactocentric vector
    delta = np.broadcast_to(vec, (2, E.size, 3))
    d2 = S.phase_distance(E, delta, table=table, floor_deg=10.0)
    assert d2 == pytest.approx([30.0 ** 2 / (20.0 ** 2 + 10.0 ** 2)] * 2, rel=1e-9)


def test_ba_grammage_keeps_BA_normalisations_and_pivot():
    for d in (1.0 / 3.0, 0.6):
        for H in (1.0, 4.0):
            assert S.ba_grammage_D28(d, H) == pytest.approx(BADiffusion(d, H).D28, rel=1e-12)
    R_star = 3 * GeV * S.PIVOT_RATIO
    D_over_H = [BADiffusion(d, H, D28=S.ba_grammage_D28(d, H)).D(R_star) / H
                for d in (0.25, 0.45, 0.7) for H in (0.5, 3.0)]
    assert np.allclose(D_over_H, D_over_H[0], rtol=1e-12, atol=0)
    sc = S.ba_grammage_scenario(H=2.0, delta=0.45, n_energies=2)
    assert sc.injection_index == pytest.approx(2.67 - 0.45)
    assert sc.diffusion.D28 == pytest.approx(S.ba_grammage_D28(0.45, 2.0))
    assert sc.H == 2.0 * kpc


@pytest.mark.parametrize("grid, name", [
    ({}, "grid"),
    ({"h": []}, "'h'"),
    ({"h": [0.2, np.nan]}, "'h'"),
    ({"D0": [np.inf]}, "'D0'"),
    ({"hh": [0.2]}, "'hh'"),
    ({"h": [[0.2, 0.3]]}, "'h'"),
    ({"h": ["a"]}, "'h'"),
])
def test_bad_grid_names_the_parameter(grid, name):
    with pytest.raises(ValueError, match=name):
        S.scan(sh_scenario, grid, 2, fixed=FIXED, backend="serial", progress=False)


def test_bad_grid_on_a_scenario_and_other_arguments():
    base = sh_scenario(**FIXED)
    with pytest.raises(ValueError, match="'D0'"):          # D0 is not a Scenario field
        S.scan(base, {"D0": [1.0]}, 2, backend="serial", progress=False)
    with pytest.raises(ValueError, match="H"):
        S.scan(base, {"H": [0.2, -1.0]}, 2, backend="serial", progress=False)  # Scenario rejects
    with pytest.raises(ValueError, match="n_realizations"):
        S.scan(base, {"H": [0.2]}, 0, backend="serial", progress=False)
    with pytest.raises(ValueError, match="backend"):
        S.scan(base, {"H": [0.2]}, 1, backend="threads", progress=False)
    with pytest.raises(ValueError, match="seed"):
        S.scan(base, {"H": [0.2]}, 1, seed=-1, backend="serial", progress=False)
    with pytest.raises(ValueError, match="threshold"):
        S.acceptance([1.0, 2.0], np.nan)
    with pytest.raises(ValueError, match="delta"):
        S.ba_grammage_D28(1.2, 4.0)


def test_scenario_base_grid_matches_direct_ensemble():
    """A grid over a Scenario field gives, at each point, run_ensemble's own numbers."""
    base = sh_scenario(**FIXED)
    rates = (1 / (30 * yr), 1 / (60 * yr))
    res = S.scan(base, {"rate": rates}, 2, seed=1, backend="serial", progress=False)
    for k, rate in enumerate(rates):
        e = crlib.ensemble.run_ensemble(dataclasses.replace(base, rate=rate), 2,
                                        seed=int(res.seeds[k]), progress=False)
        assert np.array_equal(res.d2[k], S.Statistic()(e.energies, e.delta))


def test_constant_phase_benchmark():
    E = np.geomspace(1 * TeV, 1e3 * TeV, 5)
    v = S.constant_phase_dipoles(E.size, 40.0, amplitude=2e-3)
    amp, ph = crlib.observable.first_harmonic(v)
    assert np.allclose(amp, 2e-3) and np.allclose(ph, 40.0)
    st = S.Statistic(phases=True)
    phi = S.circular_mean_phase()
    base = S.flat_benchmark(E)
    both = S.flat_benchmark(E, phase_deg=phi, statistic=st)
    assert both - base == pytest.approx(S.phase_distance(E, v[None] * 0 + S.constant_phase_dipoles(
        E.size, phi)[None])[0], rel=1e-12)
    # the circular mean minimises the phase term among nearby constant phases only roughly;
    # it must at least beat the opposite phase
    assert both < S.flat_benchmark(E, phase_deg=phi + 180.0, statistic=st)
    with pytest.raises(ValueError, match="phase_deg"):
        S.flat_benchmark(E, statistic=st)


def test_command_line_on_a_small_grid(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(S, "SH_FULL_GRID", {"h": (0.16,), "D0": (6e26, 1.2e27)})
    out = tmp_path / "sh.npz"
    res = S.main(["sh", "--serial", "--n", "2", "--energies", "4", "--cache", str(tmp_path / "c"),
                  "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert "acceptance" in text and res.shape == (1, 2) and res.computed == 2
    with np.load(out) as f:
        assert np.array_equal(f["d2"], res.d2)
        assert np.allclose(f["axis_D0"], np.array([6e26, 1.2e27]) * cm2_per_s)
