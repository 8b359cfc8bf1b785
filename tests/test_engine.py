"""The many-source engine against direct summation: accuracy, the skip bound, reproducibility.

Reference sums use :func:`crlib.green.slab_green` pair by pair at tolerance 1e-13
(no skip rule, no vectorised path), on catalogues drawn from every source model.
"""

import numba
import numpy as np
import pytest

import crlib.ensemble as ens
from crlib.diffusion import BADiffusion
from crlib.green import observe, slab_green, slab_green_gradient, terms_needed
from crlib.green.bounds import skip_bound
from crlib.green.engine import image_thresholds, mode_thresholds
from crlib.sources import Cylindrical, ExponentialDisk, MovingSpiralArms, SpiralArms, sample
from crlib.units import Myr

MODELS = {"cyl": Cylindrical(), "arms": SpiralArms(w=5.0), "exp": ExponentialDisk(),
          "moving": MovingSpiralArms()}
SUN = (8.5, 0.0, 0.0)


def scenario(model, H, tau_snr=None, spallation=True, tol=1e-8, n_src=1500, T=80.0):
    return ens.Scenario(sources=model, rate=n_src / T, T=T * Myr, H=H,
                        diffusion=BADiffusion(1 / 3, H), energies=tuple(np.logspace(3, 8, 6)),
                        injection_index=2.67 - 1 / 3, spallation=spallation, tau_snr=tau_snr,
                        tol=tol)


def direct(sc, chan, cat):
    """Reference density and gradient per channel, and the truncation scales they allow."""
    inside = np.abs(cat.z) < sc.H
    x, y, z, t = cat.x[inside], cat.y[inside], cat.z[inside], cat.t[inside]
    D, G, dl = chan.D.ravel(), chan.gamma.ravel(), chan.delay.ravel()
    n = np.zeros(D.size)
    g = np.zeros((D.size, 3))
    scale_n = np.zeros(D.size)
    scale_g = np.zeros(D.size)
    for j in range(D.size):
        tau = t - dl[j]
        ok = tau > 0
        if not np.any(ok):
            continue
        args = (*SUN, x[ok], y[ok], z[ok], tau[ok], D[j], sc.H, G[j])
        n[j] = slab_green(*args, tol=1e-13).sum()
        g[j] = slab_green_gradient(*args, tol=1e-13).sum(axis=0)
        Dt = D[j] * tau[ok]
        rho2 = (SUN[0] - x[ok]) ** 2 + (SUN[1] - y[ok]) ** 2
        att = np.exp(-rho2 / (4 * Dt) - G[j] * tau[ok])
        dens = att / (4 * np.pi * Dt) * np.minimum((4 * np.pi * Dt) ** -0.5, 1 / sc.H)
        scale_n[j] = dens.sum()
        scale_g[j] = (dens * (np.pi / sc.H + 1 / np.sqrt(Dt) + np.sqrt(rho2) / (2 * Dt))).sum()
    shape = chan.D.shape
    return n.reshape(shape), g.reshape(shape + (3,)), scale_n.reshape(shape), scale_g.reshape(shape)


def assert_within_tolerance(sc, n, g, ref):
    """Skip rule: tol n (density), tol n pi/2H (gradient); series: tol x each source's scale."""
    n_ref, g_ref, sn, sg = ref
    tol = sc.tol
    assert np.all(np.isfinite(n)) and np.all(np.isfinite(g))
    assert np.all(np.abs(n - n_ref) <= tol * (n_ref + sn) + 1e-13 * n_ref)
    bound_g = tol * (n_ref * np.pi / (2 * sc.H) + sg) + 1e-12 * (np.abs(g_ref).max(axis=-1) + sg)
    assert np.all(np.abs(g - g_ref) <= bound_g[..., None])


@pytest.mark.parametrize("H", [1.0, 2.0, 4.0, 10.0])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_fast_path_equals_exact_sum(name, H):
    sc = scenario(MODELS[name], H)
    chan = ens.channels(sc)
    cat = sample(sc.sources, sc.rate, sc.T, np.random.default_rng(hash((name, H)) % 2 ** 32))
    n, g, _ = ens._observe(sc, chan, cat)
    assert_within_tolerance(sc, n, g, direct(sc, chan, cat))


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("variant", ["continuous_escape", "no_spallation"])
def test_fast_path_with_escape_and_without_spallation(name, variant):
    kw = {"tau_snr": 0.5} if variant == "continuous_escape" else {"spallation": False}
    sc = scenario(MODELS[name], 4.0, **kw)
    chan = ens.channels(sc)
    if variant == "continuous_escape":
        assert np.any(chan.delay > 0)
    cat = sample(sc.sources, sc.rate, sc.T, np.random.default_rng(7))
    n, g, _ = ens._observe(sc, chan, cat)
    assert_within_tolerance(sc, n, g, direct(sc, chan, cat))


@pytest.mark.parametrize("H,tol", [(1.0, 1e-6), (4.0, 1e-4), (4.0, 1e-10)])
def test_skip_bound_is_never_below_the_skipped_part(H, tol):
    rng = np.random.default_rng(3)
    n_src = 4000
    t = np.sort(rng.uniform(0.001, 80.0, n_src))
    r = 15 * np.sqrt(rng.random(n_src))
    ph = 2 * np.pi * rng.random(n_src)
    x, y = r * np.cos(ph), r * np.sin(ph)
    z = rng.uniform(-0.95, 0.95, n_src) * H
    D = BADiffusion(1 / 3, H).D(np.logspace(3, 8, 12))
    gamma = 0.01
    n, g, stats = observe(x, y, z, t, D, H, gamma=gamma, tol=tol, return_stats=True)
    cut = stats["cut"]
    assert np.any(cut < n_src)                        # the rule did skip somewhere
    for j, c in enumerate(cut):
        if c == n_src:
            continue
        args = (*SUN, x[c:], y[c:], z[c:], t[c:], D[j], H, gamma)
        skipped = slab_green(*args, tol=1e-13)
        skipped_g = slab_green_gradient(*args, tol=1e-13)
        B = skip_bound(t[c], D[j], H, gamma)
        # per source and summed: the bound holds; and it meets the rule's promise
        assert np.all(skipped <= B * (1 + 1e-12))
        assert np.all(np.abs(skipped_g) <= B * np.pi / (2 * H) * (1 + 1e-12))
        assert skipped.sum() <= (n_src - c) * B <= tol * n[j] * (1 + 1e-12)
        assert np.all(np.abs(skipped_g.sum(axis=0)) <= tol * n[j] * np.pi / (2 * H) * (1 + 1e-12))


@pytest.mark.parametrize("tol", [1e-4, 1e-10, 1e-14])
def test_segment_thresholds_meet_the_term_bounds(tol):
    uI = image_thresholds(tol)
    for N, u in enumerate(uI[:-1], start=1):
        for v in np.linspace(1e-4, u, 7):
            assert (terms_needed(v, tol, "images") - 1) // 2 <= N
    assert np.all(np.diff(uI) > 0)
    assert (terms_needed(np.nextafter(0.2, 0), tol, "images") - 1) // 2 <= uI.size
    uK = mode_thresholds(tol)
    for K, u in enumerate(uK, start=1):
        for v in np.linspace(u, 2 * u + 1, 7):
            assert terms_needed(v, tol, "eigen") <= K


def test_one_and_two_threads_bitwise_with_escape():
    sc = scenario(Cylindrical(), 4.0, tau_snr=0.5, tol=1e-10, n_src=20000)
    chan = ens.channels(sc)
    before = numba.get_num_threads()
    out = []
    try:
        for nt in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(nt)
            out.append(ens.realization(sc, np.random.SeedSequence(4), chan))
    finally:
        numba.set_num_threads(before)
    for k in ("n", "grad", "delta"):
        np.testing.assert_array_equal(out[0][k], out[1][k])


def assert_dask_equals_local(sc, n_realizations, seed):
    """run_ensemble on a two-process dask LocalCluster equals the local run bitwise."""
    distributed = pytest.importorskip("dask.distributed")
    local = ens.run_ensemble(sc, n_realizations, seed=seed, progress=False)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = ens.run_ensemble(sc, n_realizations, seed=seed, backend="dask", client=client)
    np.testing.assert_array_equal(local.delta, remote.delta)
    np.testing.assert_array_equal(local.n, remote.n)
    np.testing.assert_array_equal(local.n_sources, remote.n_sources)


def test_dask_local_cluster_two_processes_bitwise():
    assert_dask_equals_local(scenario(SpiralArms(w=5.0), 4.0, n_src=3000), 3, 5)


@pytest.mark.parametrize("H", [1.0, 4.0])
@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_every_regime_near_the_observer(H, delay):
    """Sources close to the Sun at every u = D tau / H^2 from 1e-3 to 10 (images, multi-mode and
    single-mode segments, all heights), where every term matters, against direct summation."""
    rng = np.random.default_rng(11)
    n_src = 3000
    D = np.array([0.5, 5.0])
    u = 10 ** rng.uniform(-3, 1, n_src)
    t = u * H * H / D[rng.integers(0, 2, n_src)] + delay
    x = SUN[0] + rng.normal(0, 0.3, n_src) * H
    y = rng.normal(0, 0.3, n_src) * H
    z = rng.uniform(-0.97, 0.97, n_src) * H
    tol, gamma = 1e-10, 0.02
    n, g = observe(x, y, z, t, D, H, gamma=gamma, delay=delay, tol=tol, skip=False)
    chan = ens.Channels(D=D[None], gamma=np.full((1, 2), gamma), delay=np.full((1, 2), delay),
                        weight=np.ones((1, 2)))
    cat = type("Cat", (), dict(x=x, y=y, z=z, t=t))
    sc = type("Sc", (), dict(H=H, tol=tol))
    assert_within_tolerance(sc, n[None], g[None], direct(sc, chan, cat))
