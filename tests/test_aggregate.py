"""Old sources in cells (crlib.green.aggregate) against direct summation.

The cells replace each channel's sources with u = D tau / H^2 >= u_3 by Taylor expansions
of moments; every accepted cell carries a rigorous bound.  Checked here: the result equals
the direct sum within the promise of observe() (tol n for the density, tol n pi/2H for each
gradient component) for every source model, halo height, spallation and escape delays; the
summed bound is never below the error it bounds; threads and dask processes give bitwise
equal results; bad input is refused.
"""

import numba
import numpy as np
import pytest

import crlib.ensemble as ens
from crlib.green import aggregate as agg
from crlib.green import engine, observe, slab_green, slab_green_gradient
from crlib.sources import Cylindrical, sample

from test_engine import (MODELS, SUN, assert_dask_equals_local, assert_within_tolerance,
                         direct, scenario)


def _many_channels(sc):
    """sc with enough energies for observe() to use cells on its own (AGG_MIN_CHANNELS)."""
    n_E = -(-engine.AGG_MIN_CHANNELS // len(sc.species))
    return ens.Scenario(**{**sc.__dict__, "energies": tuple(np.logspace(3, 8, n_E))})


def _catalogue(sc, seed):
    cat = sample(sc.sources, sc.rate, sc.T, np.random.default_rng(seed))
    keep = np.abs(cat.z) < sc.H
    return cat.x[keep], cat.y[keep], cat.z[keep], cat.t[keep]


def _observe(sc, chan, src, **kw):
    x, y, z, t = src
    return observe(x, y, z, t, chan.D, sc.H, gamma=chan.gamma, delay=chan.delay,
                   observer=SUN, tol=sc.tol, **kw)


def _as_cat(src):
    x, y, z, t = src
    return type("Cat", (), dict(x=x, y=y, z=z, t=t))


@pytest.mark.parametrize("H", [1.0, 2.0, 4.0, 10.0])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_cells_equal_the_exact_sum(name, H):
    sc = scenario(MODELS[name], H, tol=1e-4, n_src=6000)
    chan = ens.channels(sc)
    src = _catalogue(sc, hash((name, H, "agg")) % 2 ** 32)
    n, g, st = _observe(sc, chan, src, aggregate=True, return_stats=True)
    cells = st["aggregated"]["cells"]
    assert cells[..., 1].sum() > 0                    # cells were expanded ...
    assert np.all(cells[..., 1:].sum(-1) == cells[..., 0])
    assert_within_tolerance(sc, n, g, direct(sc, chan, _as_cat(src)))


@pytest.mark.parametrize("variant", ["continuous_escape", "no_spallation"])
def test_cells_with_escape_and_without_spallation(variant):
    kw = {"tau_snr": 0.5} if variant == "continuous_escape" else {"spallation": False}
    sc = scenario(MODELS["arms"], 4.0, tol=1e-4, n_src=6000, **kw)
    chan = ens.channels(sc)
    if variant == "continuous_escape":         # every second energy without delay: a mix
        assert np.all(chan.delay > 0)
        delay = chan.delay.copy()
        delay[:, ::2] = 0.0
        chan = ens.Channels(D=chan.D, gamma=chan.gamma, delay=delay, weight=chan.weight)
    src = _catalogue(sc, 8)
    n, g, st = _observe(sc, chan, src, aggregate=True, return_stats=True)
    first = st["aggregated"]["first"]
    # channels with an escape delay are summed source by source, the others in cells
    assert np.all(first[chan.delay > 0] == src[3].size)
    assert np.all(first[chan.delay == 0] < src[3].size)
    assert_within_tolerance(sc, n, g, direct(sc, chan, _as_cat(src)))


@pytest.mark.parametrize("tol", [1e-3, 1e-4, 1e-5])
def test_summed_bound_is_never_below_the_error_it_bounds(tol):
    """The cells alone, with the mode truncation made negligible (the mode counts of
    tol 1e-14 and only cells where three modes meet them): |cells - direct| <= bound."""
    rng = np.random.default_rng(5)
    H, N = 4.0, 30000
    t = np.sort(rng.uniform(0.0, 80.0, N)) + 1e-3
    r = 15 * np.sqrt(rng.random(N))
    ph = 2 * np.pi * rng.random(N)
    x, y = r * np.cos(ph), r * np.sin(ph)
    z = rng.uniform(-0.95, 0.95, N) * H
    D = np.array([0.5, 2.0, 8.0])
    gamma = np.array([0.01, 0.0, 0.02])
    from crlib.green.kernel import _prepare
    dx, dy, rho2, _ = _prepare(x, y, t, SUN[0], SUN[1])
    uK = engine.mode_thresholds(1e-14)
    Ka = 3
    bstart = agg.age_bins(t, uK[Ka - 1] * H * H / D.max(), 1.08, 4000)
    w = 2.0 * D.min() * t[bstart[:-1]]
    rec, cstart, bcell = agg.cell_records(t, rho2, dx, dy, z, bstart, w)
    Pk = np.array([max(1, int(-np.log10(tol)) + 1 - k) for k in range(Ka)], dtype=np.int64)
    geo, M, S = agg._moments(cstart, rec, H, Ka, Pk)
    nb = bstart.size - 1
    first_age = t[bstart[:-1]]
    e0 = np.searchsorted(first_age, uK[Ka - 1] * H * H / D).astype(np.int64)
    e1 = np.full(D.size, nb, dtype=np.int64)
    ref_n = np.array([slab_green(*SUN, x, y, z, t, d, H, gm, tol=1e-13).sum()
                      for d, gm in zip(D, gamma)])
    out = np.zeros((D.size, 4))
    bound = np.zeros((D.size, 4))
    stats = np.zeros((D.size, 4), dtype=np.int64)
    agg._evaluate(D, gamma, H, SUN[2], e0, e1, bcell, cstart, geo, M, S, rec, Pk, uK,
                  0.5 * tol * ref_n, out, bound, stats)
    assert np.all(stats[:, 1] > 0) and stats[:, 2].sum() > 0     # expanded and dropped cells
    for j in range(D.size):
        a, b = bstart[e0[j]], bstart[e1[j]]
        args = (*SUN, x[a:b], y[a:b], z[a:b], t[a:b], D[j], H, gamma[j])
        n_ref = slab_green(*args, tol=1e-13).sum()
        g_ref = slab_green_gradient(*args, tol=1e-13).sum(axis=0)
        err = np.abs(np.r_[out[j, 0] - n_ref, out[j, 1:] - g_ref])
        # the bound covers the error (up to rounding), and meets the budget
        assert np.all(err <= bound[j] + 1e-12 * n_ref), (j, err, bound[j])
        assert bound[j, 0] <= 0.5 * tol * ref_n[j] * (1 + 1e-12)
        assert np.all(bound[j, 1:] <= 0.5 * tol * ref_n[j] * np.pi / (2 * H) * (1 + 1e-12))


def test_cells_with_an_exact_fallback_still_meet_the_promise(monkeypatch):
    """Cells so wide that many fail their test: those are summed source by source, and the
    result still matches the direct sum."""
    monkeypatch.setattr(engine, "_AGG_W", 40.0)
    sc = scenario(Cylindrical(), 4.0, tol=1e-5, n_src=6000)
    chan = ens.channels(sc)
    src = _catalogue(sc, 12)
    n, g, st = _observe(sc, chan, src, aggregate=True, return_stats=True)
    assert st["aggregated"]["cells"][..., 3].sum() > 0
    assert_within_tolerance(sc, n, g, direct(sc, chan, _as_cat(src)))


def test_one_and_two_threads_bitwise_with_cells():
    sc = scenario(Cylindrical(), 4.0, tol=1e-4, n_src=40000)
    chan = ens.channels(sc)
    src = _catalogue(sc, 21)
    before = numba.get_num_threads()
    out = []
    try:
        for nt in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(nt)
            out.append(_observe(sc, chan, src, aggregate=True))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_dask_local_cluster_bitwise_with_cells():
    n_src = engine.AGG_MIN_SOURCES + 20000          # observe() aggregates on its own
    sc = _many_channels(scenario(Cylindrical(), 4.0, tol=1e-4, n_src=n_src))
    assert_dask_equals_local(sc, 2, 6)


def test_large_catalogues_use_cells_and_agree_with_source_sums():
    """observe() on its own (aggregate=None) uses cells for a large catalogue and many
    channels at tol 1e-4 and agrees with the source-by-source sum to twice the tolerance;
    with fewer channels it does not use them."""
    sc = _many_channels(scenario(Cylindrical(), 4.0, tol=1e-4,
                                 n_src=engine.AGG_MIN_SOURCES + 10000))
    chan = ens.channels(sc)
    src = _catalogue(sc, 9)
    n1, g1, st = _observe(sc, chan, src, return_stats=True)
    assert "aggregated" in st
    n0, g0 = _observe(sc, chan, src, aggregate=False)
    assert np.all(np.abs(n1 - n0) <= 2 * sc.tol * n0)
    assert np.all(np.abs(g1 - g0) <= 2 * sc.tol * n0[..., None] * np.pi / (2 * sc.H))
    x, y, z, t = src
    few = chan.D[:, :2]
    _, _, st = observe(x, y, z, t, few, sc.H, tol=sc.tol, return_stats=True)
    assert few.size < engine.AGG_MIN_CHANNELS and "aggregated" not in st
    # channels with an escape delay do not count: cells could not serve them
    delay = np.where(np.arange(chan.D.size).reshape(chan.D.shape) % 2 == 0, 0.0, 0.01)
    assert (delay == 0).sum() < engine.AGG_MIN_CHANNELS <= chan.D.size
    _, _, st = observe(x, y, z, t, chan.D, sc.H, delay=delay, tol=sc.tol, return_stats=True)
    assert "aggregated" not in st
    # below AGG_TOL, or without the skip rule, the cells are not used
    for kw in ({"skip": False}, {}):
        tol = sc.tol if kw else 1e-8
        x, y, z, t = src
        _, _, st = observe(x[:5000], y[:5000], z[:5000], t[:5000], chan.D, sc.H, tol=tol,
                           aggregate=True, return_stats=True, **kw)
        assert "aggregated" not in st


def test_thin_halo_and_far_sources_keep_the_cells_few():
    """A 250 pc halo, slow diffusion and sources 30 kpc away would ask for millions of
    rho^2 bins per age bin; they are capped (MAX_RHO_BINS) and the result still matches
    the direct sum."""
    rng = np.random.default_rng(2)
    N, H = 3000, 0.25
    t = np.sort(rng.uniform(0.01, 40.0, N))
    r = 30 * np.sqrt(rng.random(N))
    x = SUN[0] + r * np.cos(2 * np.pi * rng.random(N))
    y = r * np.sin(2 * np.pi * rng.random(N))
    z = rng.uniform(-0.9, 0.9, N) * H
    D = np.array([0.002, 0.01, 0.05])
    tol = 1e-4
    n, g, st = observe(x, y, z, t, D, H, observer=SUN, tol=tol, aggregate=True,
                       return_stats=True)
    assert st["aggregated"]["cells"][:, 0].max() > 0
    chan = ens.Channels(D=D[None], gamma=np.zeros((1, 3)), delay=np.zeros((1, 3)),
                        weight=np.ones((1, 3)))
    sc = type("Sc", (), dict(H=H, tol=tol))
    assert_within_tolerance(sc, n[None], g[None], direct(sc, chan, _as_cat((x, y, z, t))))


@pytest.mark.parametrize("bad", ["yes", 1, 0.5, [True]])
def test_aggregate_must_be_none_or_bool(bad):
    t = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="aggregate must be None, True or False"):
        observe(t, t, 0 * t, t, 1.0, 4.0, aggregate=bad)
