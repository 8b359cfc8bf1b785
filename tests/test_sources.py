"""Tests of crlib.sources.

Statistical tests use fixed seeds and a significance level alpha = 1e-3 each,
so a correct sampler fails a given test with probability 1e-3 for a random
seed (with the fixed seeds here the outcome is deterministic).  Every
statistical assertion would fail for the plausible bugs it guards against
(wrong Gamma shape or scale, wrong height scale, wrong Poisson mean, wrong
rotation sign, broken chunk boundaries).
"""

import numpy as np
import pytest
from scipy import stats

from crlib import sources as S
from crlib.galaxy import R_SUN
from crlib.units import yr, km_per_s_per_kpc

ALPHA = 1e-3
RATE = 1.0 / (30 * yr)   # per Myr


def test_case_bhattacharya_normalisation():
    """A = beta^4 e^-beta/(12 pi) normalises BA eq. 4.1 and equals the Gamma(4) law."""
    beta = 3.53
    A = beta ** 4 * np.exp(-beta) / (12 * np.pi)
    r = np.linspace(0, 60, 60001)
    f = A / R_SUN ** 2 * (r / R_SUN) ** 2 * np.exp(-beta * (r - R_SUN) / R_SUN)
    from scipy.integrate import quad
    total = quad(lambda x: 2 * np.pi * x * A / R_SUN ** 2 * (x / R_SUN) ** 2
                 * np.exp(-beta * (x - R_SUN) / R_SUN), 0, np.inf)[0]
    assert abs(total - 1) < 1e-9
    s = S.surface_density(S.Cylindrical(beta=beta), r[1:], 0 * r[1:])
    np.testing.assert_allclose(s, f[1:], rtol=1e-12)


@pytest.mark.parametrize("model", [S.Cylindrical(), S.ExponentialDisk(), S.Cylindrical(beta=2.0, z_g=0.2),
                                   S.SpiralArms(w=2.8), S.SpiralArms(w=5.0, placement="ba_literal"),
                                   S.MovingSpiralArms(), S.MovingSpiralArms(sigma_arm=1.0, z_g=0.1)])
def test_radial_and_vertical_ks(model):
    """Radii (after every blur) and heights against the analytic/semi-analytic CDFs."""
    cat = S.sample(model, RATE, 5.0, 1)
    assert len(cat) > 1e5
    assert stats.kstest(cat.r, lambda r: S.radial_cdf(model, r)).pvalue > ALPHA
    assert stats.kstest(cat.z, lambda z: S.height_cdf(model, z)).pvalue > ALPHA
    # the test has power: a 3 % wrong scale is rejected
    wrong = type(model)(**{**model.__dict__, "z_g": model.z_g * 1.03})
    assert stats.kstest(cat.z, lambda z: S.height_cdf(wrong, z)).pvalue < ALPHA
    key = "beta" if hasattr(model, "beta") else "r_d"
    wrong = type(model)(**{**model.__dict__, key: getattr(model, key) * 1.03})
    assert stats.kstest(cat.r, lambda r: S.radial_cdf(wrong, r)).pvalue < ALPHA


def test_moving_arms_radius_chi2():
    """Radii of moving-arm samples vs the exact radial law (binned chi-square)."""
    m = S.MovingSpiralArms()
    cat = S.sample(m, RATE, 2.0, 2)
    edges = np.linspace(0, 25, 51)
    h, _ = np.histogram(cat.r, edges)
    fine = np.linspace(0, 25, 2501)
    pdf = S.radial_pdf(m, fine)
    cdf = np.concatenate([[0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * 0.01)])
    expect = len(cat) * np.diff(np.interp(edges, fine, cdf))
    keep = expect > 20
    chi2 = ((h[keep] - expect[keep]) ** 2 / expect[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > ALPHA


def test_poisson_counts_per_window():
    """Counts in 200 windows of 0.1 Myr: mean rate*0.1, dispersion index chi-square."""
    cat = S.sample(S.Cylindrical(), RATE, 20.0, 3)
    counts, _ = np.histogram(cat.t, np.linspace(0, 20, 201))
    mu = RATE * 0.1
    chi2 = ((counts - counts.mean()) ** 2).sum() / counts.mean()
    p = stats.chi2.cdf(chi2, counts.size - 1)
    assert ALPHA / 2 < p < 1 - ALPHA / 2        # neither over- nor under-dispersed
    assert abs(counts.mean() - mu) < 4 * np.sqrt(mu / counts.size)
    # total N ~ Poisson(rate T) over many seeds
    n = np.array([len(S.sample(S.ExponentialDisk(), 10.0, 30.0, s)) for s in range(300)])
    chi2 = ((n - 300.0) ** 2).sum() / 300.0
    assert ALPHA / 2 < stats.chi2.cdf(chi2, n.size) < 1 - ALPHA / 2


def test_ages_uniform_sorted_in_range():
    cat = S.sample(S.SpiralArms(), RATE, 80.0, 4)
    assert np.all(np.diff(cat.t) >= 0)
    assert cat.t[0] > 0 and cat.t[-1] <= 80.0
    assert stats.kstest(cat.t, stats.uniform(0, 80).cdf).pvalue > ALPHA
    for a in (cat.x, cat.y, cat.z, cat.t):
        assert a.dtype == np.float64 and a.flags.c_contiguous
    assert cat.arm.dtype == np.int64


@pytest.mark.parametrize("placement, inside, outside", [("fk06", 1.18, 2.03), ("ba_literal", 0.81, 1.98)])
def test_arm_geometry(placement, inside, outside):
    d = S.arm_distances(S.SpiralArms(placement=placement))
    ins = min(dd for dd, _, r in d if r < R_SUN)
    out = min(dd for dd, _, r in d if r > R_SUN)
    assert abs(ins - inside) < 0.01
    assert abs(out - outside) < 0.01


def test_spiral_samples_follow_arms():
    """Beyond the blur, sources sit near their arm's azimuth (w small, r large)."""
    m = S.SpiralArms(w=1.0)
    cat = S.sample(m, RATE, 2.0, 5)
    sel = cat.r > 8
    rt = cat.r[sel]  # approximately r~
    dphi = np.array([((np.arctan2(y, x) - S.arm_azimuth(m, int(a), r)) + np.pi) % (2 * np.pi) - np.pi
                     for x, y, a, r in zip(cat.x[sel][:2000], cat.y[sel][:2000], cat.arm[sel][:2000],
                                           rt[:2000])])
    # K ln(1.07)~0.3 rad from the radial blur plus a tiny angular blur
    assert np.mean(np.abs(dphi) < 1.0) > 0.99


def test_moving_arms_rotate():
    m = S.MovingSpiralArms()
    assert np.isclose(m.omega, 11.9 * km_per_s_per_kpc)
    t = np.array([0.0, 10.0, 50.0])
    for arm in range(4):
        th = S.arm_azimuth(m, arm, 8.0, t)
        np.testing.assert_allclose(th - th[0], -m.omega * t, rtol=1e-12)
    # from samples: arm sources of age ~50 Myr sit at the pattern turned by -omega*50
    cat = S.sample(S.MovingSpiralArms(f_arm=1.0, sigma_arm=1e-6), RATE, 60.0, 6, )
    sel = (cat.t > 40) & (cat.arm == 0) & (cat.r > 1.0)
    r, phi, t = cat.r[sel], np.arctan2(cat.y[sel], cat.x[sel]), cat.t[sel]
    resid = (phi - S.arm_azimuth(m, 0, r, t) + np.pi) % (2 * np.pi) - np.pi
    assert np.max(np.abs(resid)) < 1e-4
    resid_wrong = (phi - S.arm_azimuth(m, 0, r, -t) + np.pi) % (2 * np.pi) - np.pi
    assert np.median(np.abs(resid_wrong)) > 0.5


def test_reproducible_and_distinct():
    a = S.sample(S.MovingSpiralArms(), RATE, 10.0, 7)
    b = S.sample(S.MovingSpiralArms(), RATE, 10.0, np.random.default_rng(7))
    c = S.sample(S.MovingSpiralArms(), RATE, 10.0, 8)
    for name in ("x", "y", "z", "t", "arm"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert len(a) != len(c) or not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("model, T, Tsamp", [(S.SpiralArms(w=2.8), None, 80.0),
                                             (S.MovingSpiralArms(), 80.0, 80.0),
                                             (S.MovingSpiralArms(), None,   # a full turn of the pattern
                                              2 * np.pi / S.MovingSpiralArms().omega)])
def test_surface_density_normalised_and_matches_histogram(model, T, Tsamp):
    # normalisation on a polar grid
    r = np.linspace(0.01, 45, 450)
    ph = (np.arange(360) + 0.5) * 2 * np.pi / 360 - np.pi
    R, P = np.meshgrid(r, ph, indexing="ij")
    s = S.surface_density(model, R * np.cos(P), R * np.sin(P), T=T)
    total = (s * R).sum() * (r[1] - r[0]) * (2 * np.pi / 360)
    assert abs(total - 1) < 3e-3
    # histogram of samples in polar cells (exact expectation from the density)
    cat = S.sample(model, 4e5 / Tsamp, Tsamp, 9)
    redges = np.linspace(3, 13, 11)
    pedges = np.linspace(-np.pi, np.pi, 25)
    h, _, _ = np.histogram2d(cat.r, np.arctan2(cat.y, cat.x), [redges, pedges])
    sub = 6
    rr = (redges[:-1, None] + (np.arange(sub) + 0.5) / sub * np.diff(redges)[:, None]).ravel()
    pp = (pedges[:-1, None] + (np.arange(sub) + 0.5) / sub * np.diff(pedges)[:, None]).ravel()
    RR, PP = np.meshgrid(rr, pp, indexing="ij")
    dens = S.surface_density(model, RR * np.cos(PP), RR * np.sin(PP), T=T) * RR
    cell = dens.reshape(10, sub, 24, sub).mean(axis=(1, 3)) * np.diff(redges)[:, None] * np.diff(pedges)
    expect = len(cat) * cell
    # the sub-grid average has a small bias for the sharpest arcs: allow 1 %
    chi2 = ((h - expect) ** 2 / (expect + (0.01 * expect) ** 2)).sum()
    assert stats.chi2.sf(chi2, h.size) > ALPHA


def test_local_rate_numbers():
    lr = S.local_rate(S.ExponentialDisk(r_d=4.0), 1 / (30 * yr))
    assert abs(lr * yr - 3.96e-5) < 0.01e-5            # SH: 3.9e-5 kpc^-2 yr^-1
    # full-turn moving arms: the radial Gaussian barely changes the exp-disk value
    lm = S.local_rate(S.MovingSpiralArms(), 1 / (30 * yr))
    assert abs(lm / lr - 1) < 0.02


def test_t_max_and_chunks_consistent():
    m = S.ExponentialDisk()
    full = S.sample(m, RATE, 40.0, 10)
    cut = S.sample(m, RATE, 40.0, 11, t_max=10.0)
    assert cut.t[-1] <= 10.0
    n_full = np.sum(full.t <= 10.0)
    # two independent Poisson(rate*10) counts: difference within 4.5 sigma
    assert abs(len(cut) - n_full) < 4.5 * np.sqrt(2 * RATE * 10)
    assert stats.ks_2samp(cut.r, full.r[full.t <= 10]).pvalue > ALPHA
    chunks = list(S.sample_chunks(m, RATE, 40.0, 12, 7.0))
    assert len(chunks) == 6 and chunks[-1].t_max == 40.0
    t = np.concatenate([c.t for c in chunks])
    assert np.all(np.diff(t) >= 0) and t[-1] <= 40.0
    for c in chunks:
        assert np.all((c.t > c.t_min) & (c.t <= c.t_max))
    assert abs(len(t) - RATE * 40) < 4.5 * np.sqrt(RATE * 40)
    assert stats.ks_2samp(t, full.t).pvalue > ALPHA
    assert stats.ks_2samp(np.concatenate([c.r for c in chunks]), full.r).pvalue > ALPHA


@pytest.mark.parametrize("make, name", [
    (lambda: S.Cylindrical(beta=-1), "beta"),
    (lambda: S.Cylindrical(z_g=0), "z_g"),
    (lambda: S.SpiralArms(w=0), "w"),
    (lambda: S.SpiralArms(placement="sun"), "placement"),
    (lambda: S.SpiralArms(r_spread=0.5), "r_spread"),
    (lambda: S.ExponentialDisk(r_d=np.nan), "r_d"),
    (lambda: S.MovingSpiralArms(f_arm=1.5), "f_arm"),
    (lambda: S.MovingSpiralArms(sigma_arm=-0.1), "sigma_arm"),
    (lambda: S.MovingSpiralArms(omega=np.inf), "omega"),
    (lambda: S.sample(S.Cylindrical(), -1.0, 10.0, 0), "rate"),
    (lambda: S.sample(S.Cylindrical(), 1.0, 0.0, 0), "T"),
    (lambda: S.sample(S.Cylindrical(), 1.0, 10.0, 0, t_max=20.0), "t_max"),
    (lambda: S.sample(S.Cylindrical(), 1.0, 10.0, "seed"), "rng"),
    (lambda: next(S.sample_chunks(S.Cylindrical(), 1.0, 10.0, 0, 0.0)), "chunk_span"),
    (lambda: S.sample("disk", 1.0, 10.0, 0), "model"),
    (lambda: S.Catalogue([0.0], [0.0], [0.0], [0.5], [7]), "arm"),
    (lambda: S.local_rate(S.Cylindrical(), 0.0), "rate"),
    (lambda: S.surface_density(S.Cylindrical(), 1.0, 1.0, T=10.0), "T"),
])
def test_bad_parameters(make, name):
    with pytest.raises(ValueError, match=name):
        make()


# --------------------------------------------------------------------------- added checks
def _spiral_reference(model, x, y):
    """BA spiral surface density by scipy quad between arc edges located by bisection."""
    from scipy import integrate
    r, ph = np.hypot(x, y), np.arctan2(y, x)
    sc = R_SUN / model.beta
    acc = 0.0
    for K, r0, th0 in S.FK06_ARMS:
        def g(rt):
            th = K * np.log(rt / r0) + th0 + S.PLACEMENTS[model.placement]
            return (ph - th) % (2 * np.pi) - 2 * np.pi * np.exp(-rt / model.w)
        grid = np.geomspace(r / 1.8, r / 0.4, 4001)
        inside = g(grid) < 0
        edges = [r / 1.8]
        for j in np.nonzero(inside[1:] != inside[:-1])[0]:
            a, b = grid[j], grid[j + 1]
            for _ in range(60):
                c = 0.5 * (a + b)
                a, b = (c, b) if (g(c) < 0) == inside[j] else (a, c)
            edges.append(0.5 * (a + b))
        edges.append(r / 0.4)

        def f(rt):
            return (stats.gamma.pdf(rt, 4, scale=sc) * stats.norm.pdf(r, rt, model.r_spread * rt)
                    * (g(rt) < 0) / (2 * np.pi * np.exp(-rt / model.w)) / 4)
        acc += sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=200)[0]
                   for a, b in zip(edges[:-1], edges[1:]))
    return acc / r


@pytest.mark.parametrize("model, point", [(S.SpiralArms(w=2.8), (R_SUN, 0.0)),
                                          (S.SpiralArms(w=5.0, placement="ba_literal"), (-5.0, 9.0)),
                                          (S.SpiralArms(w=2.8), (0.5, 0.2))])
def test_spiral_density_pointwise(model, point):
    """The numba quadrature agrees with an independent scipy quad to 1e-8 (it is ~1e-12)."""
    got = S.surface_density(model, *point)
    assert abs(got / _spiral_reference(model, *point) - 1) < 1e-8


@pytest.mark.parametrize("model, kw", [(S.SpiralArms(w=2.8), {}), (S.SpiralArms(w=5.0), {}),
                                       (S.MovingSpiralArms(), {}), (S.MovingSpiralArms(), {"T": 80.0}),
                                       (S.MovingSpiralArms(), {"age": 37.0}),
                                       (S.MovingSpiralArms(sigma_arm=0.1), {"T": 900.0})])
def test_ring_integral_is_radial_pdf(model, kw):
    """Azimuthal integral of Sigma at radius r equals the radial pdf (independent 1-d formula)."""
    ph = (np.arange(3000) + 0.5) * 2 * np.pi / 3000
    for r in (0.3, 3.0, 7.3, 8.5, 14.0):
        ring = S.surface_density(model, r * np.cos(ph), r * np.sin(ph), **kw).mean() * 2 * np.pi * r
        assert abs(ring / S.radial_pdf(model, r) - 1) < 1e-6
    from scipy.integrate import quad
    assert abs(quad(lambda r: S.radial_pdf(model, r), 0, 150, limit=400)[0] - 1) < 1e-7
    assert abs(quad(lambda r: S.radial_pdf(model, r), 0, 8.5, limit=200)[0]
               - S.radial_cdf(model, 8.5)) < 1e-8


def test_moving_arms_time_average_and_rotation():
    m = S.MovingSpiralArms()
    pts = np.array([[R_SUN, 0.0], [7.0, 1.0], [5.0, -5.0], [0.3, 0.1]])
    # the T-average (closed form over r' intervals) = mean of one-age densities (another formula)
    ages = (np.arange(800) + 0.5) * 80.0 / 800
    inst = np.mean([S.surface_density(m, pts[:, 0], pts[:, 1], age=t) for t in ages], axis=0)
    np.testing.assert_allclose(S.surface_density(m, pts[:, 0], pts[:, 1], T=80.0), inst, rtol=1e-5)
    # density of age-t sources at P = today's density at P turned by +omega t
    t = 42.0
    a = m.omega * t
    x, y = pts[:, 0], pts[:, 1]
    xr, yr = x * np.cos(a) - y * np.sin(a), x * np.sin(a) + y * np.cos(a)
    np.testing.assert_allclose(S.surface_density(m, x, y, age=t),
                               S.surface_density(m, xr, yr, age=0.0), rtol=1e-10)
    # and NOT at P turned the other way (sign check has power)
    xw, yw = x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)
    assert np.max(np.abs(S.surface_density(m, x, y, age=t) / S.surface_density(m, xw, yw) - 1)) > 0.1


def test_moving_arms_one_age_histogram():
    """Frozen pattern (omega = 0): samples vs the one-age density in polar cells (chi-square)."""
    m = S.MovingSpiralArms(omega=0.0)
    cat = S.sample(m, 1e5, 4.0, 13)
    redges, pedges = np.linspace(4, 12, 17), np.linspace(-np.pi, np.pi, 37)
    h, _, _ = np.histogram2d(cat.r, np.arctan2(cat.y, cat.x), [redges, pedges])
    sub = 8
    rr = (redges[:-1, None] + (np.arange(sub) + 0.5) / sub * np.diff(redges)[:, None]).ravel()
    pp = (pedges[:-1, None] + (np.arange(sub) + 0.5) / sub * np.diff(pedges)[:, None]).ravel()
    RR, PP = np.meshgrid(rr, pp, indexing="ij")
    dens = S.surface_density(m, RR * np.cos(PP), RR * np.sin(PP), age=0.0) * RR
    cell = dens.reshape(16, sub, 36, sub).mean(axis=(1, 3)) * np.diff(redges)[:, None] * np.diff(pedges)
    expect = len(cat) * cell
    chi2 = ((h - expect) ** 2 / (expect + (0.01 * expect) ** 2)).sum()
    assert stats.chi2.sf(chi2, h.size) > ALPHA
    # power: the same histogram against the pattern turned by 0.1 rad fails
    dens_w = S.surface_density(S.MovingSpiralArms(omega=0.01), RR * np.cos(PP), RR * np.sin(PP),
                               age=10.0) * RR
    cell_w = dens_w.reshape(16, sub, 36, sub).mean(axis=(1, 3)) * np.diff(redges)[:, None] * np.diff(pedges)
    ew = len(cat) * cell_w
    assert stats.chi2.sf(((h - ew) ** 2 / (ew + (0.01 * ew) ** 2)).sum(), h.size) < ALPHA


def test_rate_keyword_and_seed_sequence():
    m = S.SpiralArms()
    np.testing.assert_allclose(S.surface_density(m, 3.0, 4.0, rate=RATE),
                               RATE * S.surface_density(m, 3.0, 4.0), rtol=1e-14)
    assert np.isclose(S.local_rate(S.MovingSpiralArms(), RATE, age=0.0),
                      RATE * S.surface_density(S.MovingSpiralArms(), R_SUN, 0.0, age=0.0))
    ss = np.random.SeedSequence(5)
    a = S.sample(m, RATE, 1.0, ss)
    b = S.sample(m, RATE, 1.0, np.random.SeedSequence(5))
    np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("call, name", [
    (lambda: S.surface_density(S.MovingSpiralArms(), 1.0, 1.0, T=10.0, age=1.0), "age"),
    (lambda: S.surface_density(S.SpiralArms(), 1.0, 1.0, age=1.0), "age"),
    (lambda: S.surface_density(S.MovingSpiralArms(), 1.0, 1.0, age=-1.0), "age"),
    (lambda: S.surface_density(S.MovingSpiralArms(omega=0.0), 1.0, 1.0), "omega"),
    (lambda: S.surface_density(S.Cylindrical(), 1.0, 1.0, rate=-2.0), "rate"),
    (lambda: S.surface_density(S.Cylindrical(), np.nan, 1.0), "x"),
    (lambda: S.arm_azimuth(S.SpiralArms(), 4, 8.0), "arm"),
])
def test_bad_density_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --------------------------------------------------------------------------- thin arcs (issue 17)
def _thin_arc_limit(model, x, y):
    """Spiral density when every arc is far shorter than the radial blur: the azimuth sits on
    the arm centroid, so Sigma = (1/r) sum_arms sum_windings p4(r~) N(r; r~, b r~) (r~/K) / 4
    at the radii r~ where theta_k(r~) = phi + 2 pi m (d theta / d r~ = K / r~).  Exact up to
    the arc length 2 pi exp(-r~/w) over the blur, i.e. to ~exp(-r/(1.6 w))."""
    r, ph = np.hypot(x, y), np.arctan2(y, x)
    sc, b = R_SUN / model.beta, model.r_spread
    acc = 0.0
    for K, r0, th0 in S.FK06_ARMS:
        c = th0 + S.PLACEMENTS[model.placement]
        m0 = int(np.floor((K * np.log(r / (1 + 9 * b) / r0) + c - ph) / (2 * np.pi)))
        m1 = int(np.ceil((K * np.log(r / (1 - 9 * b) / r0) + c - ph) / (2 * np.pi)))
        for m in range(m0, m1 + 1):
            rt = r0 * np.exp((ph + 2 * np.pi * m - c) / K)
            acc += stats.gamma.pdf(rt, 4, scale=sc) * stats.norm.pdf(r, rt, b * rt) * rt / K / 4
    return acc / r


@pytest.mark.parametrize("w, r", [(1.0, 40.0), (0.1, 40.0), (1.0, 60.0), (0.1, 5.0),
                                  (0.01, 3.0), (1e-4, R_SUN), (2.0, 80.0)])
def test_spiral_density_thin_arcs(w, r):
    """r/w >> 1: the arcs are thinner than a double's spacing in ln r~ (the old quadrature was
    1.2e4 times too high for w = 1 at 40 kpc, ~1e258 for w = 0.1, and divided by zero for small w).
    Checked against the independent thin-arc limit at three azimuths."""
    m = S.SpiralArms(w=w)
    for ang in (0.0, 1.0, 2.5):
        x, y = r * np.cos(ang), r * np.sin(ang)
        got = S.surface_density(m, x, y)
        assert np.isfinite(got) and got > 0
        assert abs(got / _thin_arc_limit(m, x, y) - 1) < 1e-9, (w, r, ang)


@pytest.mark.parametrize("w", [0.3, 1.0, 5.0])
def test_spiral_ring_integral_at_large_radius(w):
    """Azimuthal integral of Sigma at r equals the radial pdf (independent Gauss-Hermite formula),
    out to r/w = 150, where arcs are thin (a check that does not assume thin or thick arcs)."""
    m = S.SpiralArms(w=w)
    ph = (np.arange(4000) + 0.5) * 2 * np.pi / 4000
    for r in (10.0, 20.0, 30.0, 45.0):
        ring = S.surface_density(m, r * np.cos(ph), r * np.sin(ph)).mean() * 2 * np.pi * r
        assert abs(ring / S.radial_pdf(m, r) - 1) < 1e-6, (w, r)


# --------------------------------------------------------------------------- contract (issue 17)
def test_near_region_accepts_zero_d_arrays():
    m = S.ExponentialDisk()
    a = S.near_region(m, np.array(1.5), np.array(80.0))
    assert a == S.near_region(m, 1.5, 80.0)
    assert a.radius == 1.5 and isinstance(a.radius, float)


_GOOD = dict(x=[1.0, 2.0], y=[0.0, 1.0], z=[0.0, 0.1], t=[1.0, 2.0], arm=[-1, 2])


@pytest.mark.parametrize("change, name", [
    ({"x": [1.0]}, "lengths"),
    ({"y": [0.0, np.nan]}, "y"),
    ({"z": [[0.0, 0.1]]}, "z"),
    ({"x": [1.0 + 1j, 2.0]}, "x"),
    ({"t": [2.0, 1.0]}, "t"),
    ({"t": [-1.0, 2.0], "t_min": 0.0}, "t"),
    ({"t": [1.0, 2.0], "t_max": 1.5}, "t"),
    ({"arm": [0, 4]}, "arm"),
    ({"arm": [0.5, 1.0]}, "arm"),
    ({"t_min": -1.0}, "t_min"),
    ({"t_min": 3.0, "t_max": 2.0}, "t_max"),
])
def test_catalogue_validates(change, name):
    with pytest.raises(ValueError, match=name):
        S.Catalogue(**{**_GOOD, **change})


def test_catalogue_defaults_and_read_only():
    cat = S.Catalogue(**_GOOD)
    assert cat.t_max == 2.0 and cat.t_min == 0.0 and len(cat) == 2
    assert not cat.x.flags.writeable and cat.arm.dtype == np.int64
    assert len(S.Catalogue([], [], [], [], [])) == 0


@pytest.mark.parametrize("call", [
    lambda m: S.radial_pdf(m, 1.0), lambda m: S.radial_cdf(m, 1.0),
    lambda m: S.height_pdf(m, 0.0), lambda m: S.pattern_rotation(m, 1.0),
    lambda m: S.surface_density(m, 1.0, 1.0), lambda m: S.local_rate(m, 1.0),
    lambda m: S.near_region(m, 1.0, 10.0), lambda m: S.arm_azimuth(m, 0, 8.0),
    lambda m: next(S.sample_chunks(m, 1.0, 10.0, 0, 1.0)),
    lambda m: S.sample_near(m, 1.0, 10.0, 0, 1.0, [0.0, 10.0]),
])
@pytest.mark.parametrize("obj", ["disk", None, {"w": 5.0}, [1, 2]])
def test_non_model_objects_are_refused(call, obj):
    with pytest.raises(ValueError, match="model"):
        call(obj)


def test_scenario_refuses_non_model_sources():
    from crlib.ensemble import Scenario
    from crlib.diffusion import BADiffusion
    from crlib.species import PROTONS
    with pytest.raises(ValueError, match="sources"):
        Scenario(sources=object(), rate=1.0, T=1.0, H=4.0, diffusion=BADiffusion(1 / 3, 4.0),
                 species=PROTONS, energies=(1e3,), injection_index=2.3)


def test_arm_azimuth_needs_arms():
    with pytest.raises(ValueError, match="arms"):
        S.arm_azimuth(S.Cylindrical(), 0, 8.0)
    m = S.MovingSpiralArms()
    # one formula: the model method, the module function and centroid_azimuth agree
    np.testing.assert_array_equal(S.arm_azimuth(m, 2, [5.0, 9.0], 30.0),
                                  S.centroid_azimuth(2, np.array([5.0, 9.0]), m.placement,
                                                     -m.omega * 30.0))


# --------------------------------------------------------------------------- a new model is one class
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class _GammaDisk(S.SourceModel):
    """Axisymmetric disk with a Gamma(k, s) radial law, written as a user would."""

    k: float = 3.0
    s: float = 2.5
    z_g: float = 0.1

    def radial_law(self):
        return self.k, self.s

    def _polar(self, rng, t):
        n = t.shape[0]
        return (rng.gamma(self.k, self.s, n), rng.uniform(0, 2 * np.pi, n),
                np.full(n, -1, dtype=np.int64))

    def density(self, r, phi, T=None, age=None):
        self._static(T, age)
        return stats.gamma(self.k, scale=self.s).pdf(r) / (2 * np.pi * np.maximum(r, 1e-300))


def test_a_new_model_is_one_class():
    """Sampling, densities and the near-Sun sampler work for a user model without other edits."""
    m = _GammaDisk()
    cat = S.sample(m, 2e5, 1.0, 3)
    assert stats.kstest(cat.r, lambda r: S.radial_cdf(m, r)).pvalue > ALPHA
    assert stats.kstest(cat.z, lambda z: S.height_cdf(m, z)).pvalue > ALPHA
    ph = (np.arange(1000) + 0.5) * 2 * np.pi / 1000
    ring = S.surface_density(m, 6 * np.cos(ph), 6 * np.sin(ph)).mean() * 2 * np.pi * 6
    assert abs(ring / S.radial_pdf(m, 6.0) - 1) < 1e-12
    reg = S.near_region(m, 1.0, 10.0)
    near, rest, counts, _ = S.sample_near(m, 1e4, 10.0, 4, 1.0, [0.0, 5.0, 10.0])
    n_S = len(near) + len(rest)
    mean_S = 1e4 * 10.0 * reg.p_S
    assert abs(n_S - mean_S) < 5 * np.sqrt(mean_S)
    assert m.averaging_span(80.0) is None


# --------------------------------------------------------------------------- the fast samplers
# crlib.sources._fast draws the built-in models from raw words (a different random stream from
# the generic SourceModel.positions path, same laws).  These tests check each coordinate
# against its density, the fast path against the generic one, and determinism.
from crlib.sources import _fast  # noqa: E402

FAST_MODELS = [S.Cylindrical(), S.ExponentialDisk(), S.Cylindrical(beta=2.0, z_g=0.2),
               S.SpiralArms(), S.SpiralArms(w=2.8, placement="ba_literal"),
               S.MovingSpiralArms(), S.MovingSpiralArms(f_arm=0.3, sigma_arm=1.0, omega=0.05),
               S.MovingSpiralArms(f_arm=1.0), S.MovingSpiralArms(f_arm=0.0)]


def _phi(cat):
    return np.arctan2(cat.y, cat.x)


def _generic(model, T, seed, n_rate=RATE):
    """The same model sampled through the generic path (SourceModel.positions -> _polar)."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(n_rate * T)
    t = np.sort(rng.uniform(0.0, T, n))
    x, y, z, arm = S.SourceModel.positions(model, rng, t)
    return S.Catalogue(x, y, z, t, arm, t_max=T, model=model)


@pytest.mark.parametrize("model", FAST_MODELS, ids=lambda m: repr(m)[:60])
def test_fast_sampler_coordinates_follow_their_laws(model):
    """Radius, height, age against their CDFs (KS); azimuth uniform for disks (KS), and for
    arm models the fast azimuths (jointly with radius and age) against the generic path."""
    T = 10.0
    cat = S.sample(model, RATE, T, 21)
    assert len(cat) > 3e5
    assert type(model).positions._trusted
    assert stats.kstest(cat.r, lambda r: S.radial_cdf(model, r)).pvalue > ALPHA
    assert stats.kstest(cat.z, lambda z: S.height_cdf(model, z)).pvalue > ALPHA
    assert stats.kstest(cat.t, stats.uniform(0, T).cdf).pvalue > ALPHA
    assert np.all(np.diff(cat.t) >= 0) and cat.t[0] > 0 and cat.t[-1] <= T
    phi = _phi(cat)
    if model.arm_fraction == 0.0 and not isinstance(model, S.SpiralArms):
        assert np.all(cat.arm == -1)
        assert stats.kstest(phi, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > ALPHA
        # power: a 1 % dent in the azimuth law is seen
        assert stats.kstest(phi, stats.uniform(-np.pi, 2 * np.pi * 1.01).cdf).pvalue < ALPHA
    ref = _generic(model, T, 22)
    for a, b in ((cat.x, ref.x), (cat.y, ref.y), (phi, _phi(ref)), (cat.r, ref.r)):
        assert stats.ks_2samp(a, b).pvalue > ALPHA
    # the azimuths of old and young sources (the moving pattern turns with age)
    for sel_c, sel_r in ((cat.t > 0.5 * T, ref.t > 0.5 * T), (cat.t <= 0.5 * T, ref.t <= 0.5 * T)):
        assert stats.ks_2samp(phi[sel_c], _phi(ref)[sel_r]).pvalue > ALPHA
    table = np.array([np.bincount(c.arm + 1, minlength=5) for c in (cat, ref)])
    table = table[:, table.sum(0) > 0]
    if table.shape[1] > 1:
        assert stats.chi2_contingency(table).pvalue > ALPHA
    # power of the two-sample comparison: the generic path of a slightly different model
    key = "beta" if hasattr(model, "beta") else "r_d"
    wrong = _generic(type(model)(**{**model.__dict__, key: getattr(model, key) * 1.03}), T, 23)
    assert stats.ks_2samp(cat.r, wrong.r).pvalue < ALPHA


def test_fast_arm_fraction_and_arm_choice():
    """MovingSpiralArms: arm sources with probability f_arm, each arm with 1/4 (exact binomial
    and chi-square); SpiralArms: arms equiprobable."""
    m = S.MovingSpiralArms(f_arm=0.8)
    cat = S.sample(m, RATE, 6.0, 24)
    n, k = len(cat), int(np.sum(cat.arm >= 0))
    assert stats.binomtest(k, n, 0.8).pvalue > ALPHA
    assert stats.binomtest(k, n, 0.79).pvalue < ALPHA          # power
    counts = np.bincount(cat.arm[cat.arm >= 0], minlength=4)
    assert stats.chisquare(counts).pvalue > ALPHA
    counts = np.bincount(S.sample(S.SpiralArms(), RATE, 6.0, 25).arm, minlength=4)
    assert counts.size == 4 and stats.chisquare(counts).pvalue > ALPHA


def test_fast_gamma_and_ages():
    """Gamma(k) as -log of a product of k uniforms and the sorted ages, against scipy."""
    rng = np.random.default_rng(26)
    for k, scale in ((2, 4.0), (4, 2.4)):
        g = _fast.gamma_int(rng, k, scale, 400_000)
        assert np.all(np.isfinite(g)) and np.all(g > 0)
        assert stats.kstest(g, stats.gamma(k, scale=scale).cdf).pvalue > ALPHA
        assert stats.kstest(g, stats.gamma(k, scale=scale * 1.01).cdf).pvalue < ALPHA
    t = _fast.sorted_ages(rng, 300_000, 5.0, 7.0)
    assert np.all(np.diff(t) >= 0) and t[0] > 5.0 and t[-1] <= 7.0
    assert stats.kstest(t, stats.uniform(5.0, 2.0).cdf).pvalue > ALPHA
    # spacings of order statistics: n * gap / width ~ Exp(1)
    gaps = np.diff(np.concatenate([[5.0], t])) * t.size / 2.0
    assert stats.kstest(gaps, stats.expon.cdf).pvalue > ALPHA
    assert _fast.sorted_ages(rng, 0, 0.0, 1.0).shape == (0,)
    z = _fast.laplace(rng, 0.07, 300_000)
    assert stats.kstest(z, stats.laplace(scale=0.07).cdf).pvalue > ALPHA
    assert abs(np.mean(z > 0) - 0.5) < 4 * 0.5 / np.sqrt(z.size)


def test_fast_sincos_accuracy():
    """The vectorised cos/sin against numpy's to a few ulp, across quadrant boundaries and the
    libm fallback beyond |phi| = 1e6."""
    rng = np.random.default_rng(27)
    phi = np.concatenate([rng.uniform(-10, 10, 200_000), rng.uniform(-1e5, 1e5, 100_000),
                          rng.uniform(-1e9, 1e9, 10_000), np.arange(-400, 401) * np.pi / 4,
                          np.arange(-400, 401) * np.pi / 4 * (1 + 1e-15), [0.0, -0.0, 1e6, -1e6]])
    c, s = _fast.sincos(phi)
    assert np.max(np.abs(c - np.cos(phi))) < 5e-16
    assert np.max(np.abs(s - np.sin(phi))) < 5e-16
    assert np.max(np.abs(c * c + s * s - 1.0)) < 1e-15


@pytest.mark.parametrize("model", [S.Cylindrical(), S.ExponentialDisk(), S.SpiralArms(),
                                   S.MovingSpiralArms()], ids=lambda m: type(m).__name__)
def test_fast_samplers_deterministic(model):
    """Same seed -> the identical catalogue (also via sample_chunks); another seed differs;
    and the stream continues identically after a catalogue (fixed consumption per seed)."""
    ra, rb = np.random.default_rng(28), np.random.default_rng(28)
    a, b = S.sample(model, RATE, 3.0, ra), S.sample(model, RATE, 3.0, rb)
    for name in ("x", "y", "z", "t", "arm"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not getattr(a, name).flags.writeable
        assert getattr(a, name).flags.c_contiguous
    assert ra.random() == rb.random()
    c = S.sample(model, RATE, 3.0, 29)
    assert len(a) != len(c) or not np.array_equal(a.x, c.x)
    ch1 = list(S.sample_chunks(model, RATE, 3.0, 30, 1.0))
    ch2 = list(S.sample_chunks(model, RATE, 3.0, 30, 1.0))
    for p, q in zip(ch1, ch2):
        np.testing.assert_array_equal(p.x, q.x)
        np.testing.assert_array_equal(p.t, q.t)
    # the trusted catalogue is what the validating constructor would accept
    S.Catalogue(a.x, a.y, a.z, a.t, a.arm, t_min=a.t_min, t_max=a.t_max)
    assert a.t_min == 0.0 and a.t_max == 3.0 and a.model is model


def test_subclass_overriding_positions_is_validated():
    """A subclass of a built-in model that overrides positions loses the trusted mark."""
    @dataclass(frozen=True)
    class Bad(S.Cylindrical):
        def positions(self, rng, t):
            x, y, z, arm = super().positions(rng, t)
            return x, y, z, np.full(t.size, 9)

    assert not getattr(Bad.positions, "_trusted", False)
    with pytest.raises(ValueError, match="arm"):
        S.sample(Bad(), 1e4, 1.0, 0)
