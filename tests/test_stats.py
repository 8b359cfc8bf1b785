"""Heavy-tail statistics of crlib.ensemble (against closed forms) and the youngest-remnant cuts."""

import numpy as np
import pytest
from scipy import stats

from crlib import ensemble as ens
from crlib.diffusion import BADiffusion
from crlib.galaxy import OBSERVER
from crlib.green import observe
from crlib.sources import Catalogue, Cylindrical
from crlib.species import PROTONS
from crlib.units import c_light, yr

Z75 = stats.norm.ppf(0.75)                     # 0.6745
F75 = stats.norm.pdf(Z75)                      # density at the quartile


def _lognormal(rng, sigma, size):
    """Amplitudes whose log10 is normal with standard deviation sigma (dex)."""
    return 10.0 ** (-3.0 + sigma * rng.standard_normal(size))


# ----------------------------------------------------------------------------- spreads
def test_iqr_and_mad_of_normal_log_amplitudes():
    sigma = 0.4
    A = _lognormal(np.random.default_rng(1), sigma, (20000, 2))
    iqr = ens.log_spread(A, "iqr", n_boot=200, seed=2)
    mad = ens.log_spread(A, "mad", n_boot=200, seed=3)
    # closed forms: IQR = 2 z75 sigma, MAD = z75 sigma; sampling error ~ 1.6 sigma / sqrt(N)
    assert np.allclose(iqr.value, 2 * Z75 * sigma, atol=4 * 1.6 * sigma / np.sqrt(20000))
    assert np.allclose(mad.value, Z75 * sigma, atol=4 * 0.8 * sigma / np.sqrt(20000))
    assert iqr.value.shape == (2,) and np.all(iqr.low < iqr.value) and np.all(iqr.value < iqr.high)


@pytest.mark.parametrize("stat, coeff", [("iqr", 0.5 / F75), ("mad", 0.25 / F75)])
def test_bootstrap_error_matches_asymptotic_and_shrinks_like_sqrt_n(stat, coeff):
    # asymptotic standard errors for a normal sample of unit sigma:
    # se(IQR) = 1/(2 f(z75) sqrt N), se(MAD) = 1/(4 f(z75) sqrt N)  (symmetric distribution)
    rng = np.random.default_rng(11)
    errs = {}
    for N in (200, 3200):
        A = 10.0 ** rng.standard_normal((N, 8))          # 8 independent columns
        e = ens.log_spread(A, stat, n_boot=600, seed=N).error
        errs[N] = e.mean()
        assert errs[N] == pytest.approx(coeff / np.sqrt(N), rel=0.2)
    assert errs[200] / errs[3200] == pytest.approx(4.0, rel=0.2)


def test_bootstrap_interval_coverage_on_known_distribution():
    # 68.3 % percentile interval of the IQR of 300 normal log-amplitudes; 240 independent trials
    sigma, N, trials = 0.3, 300, 240
    truth = 2 * Z75 * sigma
    rng = np.random.default_rng(5)
    A = _lognormal(rng, sigma, (N, trials))               # each column one trial
    est = ens.log_spread(A, "iqr", n_boot=400, seed=6)
    covered = np.mean((est.low <= truth) & (truth <= est.high))
    se = np.sqrt(0.683 * 0.317 / trials)
    assert abs(covered - 0.683) < 3.5 * se


def test_spread_ratio_of_two_known_normals():
    rng = np.random.default_rng(8)
    a = _lognormal(rng, 0.6, (4000, 3))
    b = _lognormal(rng, 0.3, (1000, 3))
    r = ens.spread_ratio(a, b, "iqr", n_boot=400, seed=9)
    # delta method: relative errors add in quadrature, se(IQR)/IQR = 1/(4 z75 f sqrt N)
    rel = lambda n: (0.5 / F75) / (2 * Z75) / np.sqrt(n)          # noqa: E731
    expected = 2.0 * np.hypot(rel(4000), rel(1000))
    assert np.allclose(r.value, 2.0, atol=4 * expected)
    assert np.allclose(r.error, expected, rtol=0.25)


def test_band_quantiles_against_known_quantiles():
    rng = np.random.default_rng(3)
    A = 10.0 ** rng.standard_normal((5000, 2))
    b = ens.band_quantiles(A, levels=(0.683, 0.95), n_boot=300, seed=4)
    lo, hi = b[0.95]
    zq = stats.norm.ppf(0.975)
    se = np.sqrt(0.025 * 0.975 / 5000) / stats.norm.pdf(zq)      # se of a sample quantile
    assert np.allclose(np.log10(hi.value), zq, atol=4 * se)
    assert np.allclose(np.log10(lo.value), -zq, atol=4 * se)
    # errors of the log-quantile: delta method via the density of the amplitude
    assert np.allclose(hi.error / (hi.value * np.log(10)), se, rtol=0.3)
    # same quantiles as bands()
    assert np.allclose(ens.bands(A)[0.683][1], b[0.683][1].value)


def test_one_sided_band_of_a_non_negative_quantity():
    rng = np.random.default_rng(4)
    ang = np.abs(rng.standard_normal((4000, 3)))              # half-normal
    b = ens.band_quantiles(ang, levels=(0.683,), n_boot=200, seed=1, one_sided=True)
    lo, hi = b[0.683]
    assert np.all(lo.value == 0.0)
    assert np.allclose(hi.value, stats.halfnorm.ppf(0.683), atol=0.05)
    assert ens.prob_outside_err(ang[:, :1], (lo.value[:1], hi.value[:1])).value == pytest.approx(
        0.317, abs=0.03)


def test_binomial_fraction_and_wilson_interval():
    e = ens.binomial_fraction(30, 100)
    assert e.value == 0.3 and e.error == pytest.approx(np.sqrt(0.3 * 0.7 / 100))
    assert e.low < 0.3 < e.high
    z0 = ens.binomial_fraction(0, 50)
    assert z0.value == 0 and z0.low == 0 and z0.high > 0         # not degenerate
    # coverage of the Wilson interval by simulation
    rng = np.random.default_rng(2)
    k = rng.binomial(200, 0.1, size=2000)
    cov = np.mean([(lambda e: e.low <= 0.1 <= e.high)(ens.binomial_fraction(int(i), 200)) for i in k])
    assert abs(cov - 0.683) < 0.05


@pytest.mark.parametrize("call", [
    lambda: ens.log_spread(np.ones((5, 2)), stat="std"),
    lambda: ens.log_spread(-np.ones((5, 2))),
    lambda: ens.log_spread(np.ones((1, 2))),
    lambda: ens.log_spread(np.ones((5, 2)), n_boot=3),
    lambda: ens.log_spread(np.ones((5, 2)), confidence=1.5),
    lambda: ens.spread_ratio(np.ones((5, 2)), np.ones((5, 3))),
    lambda: ens.binomial_fraction(5, 3),
    lambda: ens.binomial_fraction(1, 0),
    lambda: ens.band_quantiles(np.ones(5)),
])
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


# ----------------------------------------------------------------------------- min_age, causal
@pytest.fixture(scope="module")
def sc():
    return ens.Scenario(sources=Cylindrical(), rate=1 / (1000 * yr), T=4.0, H=4.0,
                        diffusion=BADiffusion(1 / 3, 4.0), energies=(1e3, 1e6, 1e8),
                        injection_index=2.67 - 1 / 3, species=PROTONS, spallation=False)


def _catalogue():
    """Sources at known distances r and ages t from the observer, in the plane."""
    r = np.array([0.08, 0.2, 0.3, 1.0, 1.5, 2.0])
    t = np.array([2e-4, 5e-4, 1e-3, 0.02, 0.2, 1.0])        # Myr; c t = 0.061, 0.153, 0.307 kpc, ...
    x = OBSERVER[0] + r
    z = np.zeros_like(r)
    return Catalogue(x=x, y=np.zeros_like(r), z=z, t=t, arm=-np.ones(r.size, dtype=np.int64),
                     t_min=0.0, t_max=4.0), r, t


def _expected(scen, chan, cat, keep):
    idx = np.flatnonzero(keep)
    return observe(cat.x[idx].copy(), cat.y[idx].copy(), cat.z[idx].copy(), cat.t[idx].copy(),
                   chan.D, scen.H, gamma=chan.gamma, delay=chan.delay, tol=scen.tol)


@pytest.mark.parametrize("min_age, causal", [(0.0, False), (0.0, True), (0.01, False),
                                             (0.1, True), (0.3, False)])
def test_min_age_and_causality_mask(sc, min_age, causal):
    s = ens.Scenario(**{**sc.__dict__, "min_age": min_age, "causal": causal})
    chan = ens.channels(s)
    cat, r, t = _catalogue()
    keep = (t >= min_age) & ((r <= c_light * t) if causal else True)
    n, g, k = ens._observe(s, chan, cat)
    assert k == keep.sum()
    n0, g0 = _expected(s, chan, cat, keep)
    np.testing.assert_allclose(n, n0, rtol=1e-12)
    np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-300)


def test_causal_cut_drops_exactly_the_sources_outside_the_light_front(sc):
    cat, r, t = _catalogue()
    s = ens.Scenario(**{**sc.__dict__, "causal": True})
    _, _, k = ens._observe(s, ens.channels(s), cat)
    # 80 pc at 0.2 kyr (light: 61 pc) and 200 pc at 0.5 kyr (153 pc) are outside
    assert k == int(np.sum(r <= c_light * t)) == 4


def test_causal_uses_earliest_escape_with_continuous_escape(sc):
    s = ens.Scenario(**{**sc.__dict__, "causal": True, "tau_snr": 3e4 * yr})
    chan = ens.channels(s)
    t_esc = float(chan.delay.min())
    assert t_esc > 0
    cat, r, t = _catalogue()
    _, _, k = ens._observe(s, chan, cat)
    assert k == int(np.sum(r <= c_light * (t - t_esc)))


def test_min_age_in_a_realization_drops_only_young_sources(sc):
    base = ens.realization(sc, np.random.SeedSequence(3))
    cut = ens.realization(ens.Scenario(**{**sc.__dict__, "min_age": 0.5}), np.random.SeedSequence(3))
    rng = np.random.default_rng(np.random.SeedSequence(3))
    from crlib.sources import sample
    cat = sample(sc.sources, sc.rate, sc.T, rng)
    inside = np.abs(cat.z) < sc.H
    assert base["n_sources"] - cut["n_sources"] == int(np.sum(inside & (cat.t < 0.5)))
    assert np.all(cut["n"] < base["n"])


@pytest.mark.parametrize("kw", [dict(min_age=-1.0), dict(min_age=5.0), dict(causal="yes"),
                                dict(min_age=np.array([1.0, 2.0]))])
def test_scenario_rejects_bad_cuts(sc, kw):
    with pytest.raises(ValueError):
        ens.Scenario(**{**sc.__dict__, **kw})


def test_cuts_enter_the_cache_key(sc):
    keys = {ens.Scenario(**{**sc.__dict__, **kw}).key(10, 0)
            for kw in (dict(), dict(min_age=0.1), dict(causal=True))}
    assert len(keys) == 3


def test_bootstrap_ensembles_standard_error_of_a_mean_and_a_difference():
    rng = np.random.default_rng(21)
    a = rng.normal(0.0, 2.0, (400, 3))
    b = rng.normal(1.0, 1.0, 900)
    e = ens.bootstrap_ensembles(lambda x: x.mean(), a, n_boot=800, seed=1)
    assert e.error == pytest.approx(2.0 / np.sqrt(1200), rel=0.3)    # rows resampled whole
    d = ens.bootstrap_ensembles(lambda x, y: y.mean() - x[:, 0].mean(), a, b, n_boot=800, seed=2)
    assert d.error == pytest.approx(np.hypot(2.0 / 20.0, 1.0 / 30.0), rel=0.15)
    # paired: the difference of a sample with itself has no scatter
    p = ens.bootstrap_ensembles(lambda x, y: x.mean() - y.mean(), a, a.copy(), n_boot=50, paired=True)
    assert p.error == 0.0
    with pytest.raises(ValueError):
        ens.bootstrap_ensembles(lambda x, y: 0.0, a, b, paired=True)


def test_plot_bands_draws_the_quantiles_of_bands():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from crlib.plotting import plot_bands

    rng = np.random.default_rng(0)
    A = 10.0 ** rng.standard_normal((300, 4))
    E = np.logspace(3, 6, 4)
    fig, ax = plt.subplots()
    edges = plot_bands(ax, E, A)
    ref = ens.bands(A)
    for p in (0.683, 0.95):
        np.testing.assert_allclose(edges[p][0], ref[p][0])
        np.testing.assert_allclose(edges[p][1], ref[p][1])
    one = plot_bands(ax, E, A, levels=(0.683,), one_sided=True)
    assert np.all(one[0.683][0] == 0) and np.allclose(one[0.683][1], np.quantile(A, 0.683, axis=0))
    assert len(ax.collections) == 3
    with pytest.raises(ValueError):
        plot_bands(ax, E, A[:, :3])
    plt.close(fig)


# ----------------------------------------------------------------------------- the ledger's counts
def _ledger():
    import importlib
    import pathlib
    import sys
    book = str(pathlib.Path(__file__).resolve().parents[1] / "book")
    if book not in sys.path:
        sys.path.insert(0, book)
    return importlib.import_module("_ledger")


@pytest.mark.parametrize("n", [1, 10, 64, 128, 1000])
def test_zero_and_full_counts_print_the_one_sided_wilson_limit(n):
    from scipy.stats import norm
    L = _ledger()
    z = norm.ppf(L.LIMIT_CL)
    up, low = L.Fraction(0, n).limit(), L.Fraction(n, n).limit()
    # Wilson score bound at k = 0 (k = n) in closed form: z²/(n + z²) (n/(n + z²))
    assert up == pytest.approx(z ** 2 / (n + z ** 2), rel=1e-12)
    assert low == pytest.approx(n / (n + z ** 2), rel=1e-12)
    s0, s1 = L.fmt(L.Fraction(0, n), pct=True), L.fmt(L.Fraction(n, n), pct=True)
    assert s0.startswith("< ") and f"0 of {n})" in s0 and "±" not in s0
    assert s1.startswith("> ") and f"{n} of {n})" in s1 and "±" not in s1
    # printed limits are rounded outwards: still an upper (lower) limit
    assert float(s0.split()[1]) >= 100 * up and float(s1.split()[1]) <= 100 * low
    # the chance of seeing 0 of n when the true fraction is at the limit: about
    # exp(-z²) = 6.7 % for large n (Wilson is a little less conservative than the exact 5 %)
    if n >= 10:
        assert 0.05 < (1 - up) ** n < 0.1


@pytest.mark.parametrize("n", [3, 50, 128])
def test_no_count_prints_plus_minus_zero(n):
    L = _ledger()
    for k in range(n + 1):
        s = L.fmt(L.Fraction(k, n), pct=True)
        assert "± 0 %" not in s and "± 0.0 %" not in s, s
        assert ("±" in s) == (0 < k < n)


def test_ledger_fmt_refuses_a_missing_error():
    L = _ledger()
    from crlib.ensemble import Estimate
    with pytest.raises(ValueError, match="zero error"):
        L.fmt(Estimate(0.3, 0.0, 0.3, 0.3))
    with pytest.raises(ValueError, match="counts"):
        L.fmt(Estimate(0.0, 0.0, 0.0, 0.0), pct=True)
    # a small error gets the decimals it needs instead of rounding to zero
    assert L.fmt(Estimate(0.3612, 0.0004, 0, 0)) == "0.3612 ± 0.0004"
