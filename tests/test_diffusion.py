import math

import numpy as np
import pytest

from crlib.diffusion import (BADiffusion, KneeBreak, PowerLawDiffusion, SHDiffusion,
                             adjusted_beta, escape_alpha, escape_spectrum, escape_time,
                             larmor_radius, mean_free_path, transition_energy)
from crlib.units import GeV, PeV, TeV, cm2_per_s, muG, yr


def test_ba_normalisation():
    for delta, ratio in ((1 / 3, 1.33), (0.6, 0.55)):
        for H in (2.0, 4.0):
            m = BADiffusion(delta, H)
            assert m.D(3.0 * GeV) / cm2_per_s == pytest.approx(1e28 * ratio * H, rel=1e-12)
            assert m.D(30.0, 1) / m.D(3.0, 1) == pytest.approx(10 ** delta, rel=1e-12)
    # rigidity scaling: same E/Z gives same D
    m = BADiffusion(1 / 3, 4.0)
    assert m.D(26 * 100.0, 26) == pytest.approx(m.D(100.0, 1), rel=1e-12)


def test_ba_needs_d28_for_other_slopes():
    with pytest.raises(ValueError, match="D28"):
        BADiffusion(0.5, 4.0)
    assert BADiffusion(0.5, 4.0, D28=2.0).D(3.0) / cm2_per_s == pytest.approx(2e28)


def test_sh_nominal():
    m = SHDiffusion()
    assert m.D(1.0) / cm2_per_s == pytest.approx(6e26, rel=1e-12)
    assert m.D(1000.0) / cm2_per_s == pytest.approx(6e27, rel=1e-12)


@pytest.mark.parametrize("B, expect", [(1, 2.4), (2, 6.8), (3, 12.6)])
def test_transition_energy_sh(B, expect):
    Et = transition_energy(SHDiffusion(), 1, B * muG)
    assert Et / PeV == pytest.approx(expect, rel=0.02)
    # it solves r_L = 3 D / c
    assert larmor_radius(Et, 1, B * muG) == pytest.approx(mean_free_path(SHDiffusion(), Et, 1), rel=1e-10)


def test_transition_fe_over_p_and_scaling():
    m = SHDiffusion()
    assert transition_energy(m, 26) / transition_energy(m, 1) == pytest.approx(26.0, rel=1e-12)
    # E_trans ∝ (D0 B)^(3/2) for p = 1/3
    m2 = SHDiffusion(D0=1.2e27 * cm2_per_s)
    assert transition_energy(m2, 1) / transition_energy(m, 1) == pytest.approx(2 ** 1.5, rel=1e-10)


def test_transition_numeric_matches_closed_form():
    class Wrapped:  # no power_law(): forces the numerical root
        def D(self, E, Z=1.0):
            return SHDiffusion().D(E, Z)
    assert transition_energy(Wrapped(), 1) == pytest.approx(transition_energy(SHDiffusion(), 1), rel=1e-9)


def test_knee_break_continuous_and_E2():
    k = KneeBreak(SHDiffusion(), B=1 * muG)
    for Z in (1, 26):
        Et = k.transition_energy(Z)
        below = k.D(Et * (1 - 1e-9), Z)
        above = k.D(Et * (1 + 1e-9), Z)
        assert above == pytest.approx(below, rel=1e-8)
        assert k.D(10 * Et, Z) / k.D(Et, Z) == pytest.approx(100.0, rel=1e-10)
        assert k.D(Et / 10, Z) == pytest.approx(SHDiffusion().D(Et / 10, Z), rel=1e-12)
    E = np.logspace(3, 9, 7)
    Z = np.array([[1.0], [26.0]])
    assert k.D(E, Z).shape == (2, 7)


def test_escape_time():
    T, tau = 1e3 * yr, 3e4 * yr
    alpha = math.log(3e6) / math.log(30.0)
    assert escape_time(3 * PeV) == pytest.approx(T)
    assert escape_time(30 * PeV) == pytest.approx(T)  # above E_M: at T_ST
    assert escape_time(1e3) == pytest.approx(T * (3e6 / 1e3) ** (1 / alpha), rel=1e-12)
    assert escape_time(1.0) == pytest.approx(tau, rel=1e-10)  # E0 leaves when the SNR dies
    assert np.isinf(escape_time(0.5))
    # iron: E_M = 26 x 3 PeV
    assert escape_time(26 * 1e3, 26) == pytest.approx(escape_time(1e3, 1), rel=1e-12)
    assert escape_time(1e3, tau_SNR=3e5 * yr) > escape_time(1e3)


@pytest.mark.parametrize("call, name", [
    (lambda: PowerLawDiffusion(-1.0, 0.3), "D0"),
    (lambda: PowerLawDiffusion(1.0, 1.5), "delta"),
    (lambda: BADiffusion(1 / 3, -4.0), "H"),
    (lambda: SHDiffusion().D(-1.0), "E"),
    (lambda: SHDiffusion().D(1.0, 0.0), "Z"),
    (lambda: transition_energy(SHDiffusion(), 1, -1.0), "B"),
    (lambda: KneeBreak(SHDiffusion(), B=0.0), "B"),
    (lambda: escape_time(np.nan), "E"),
    (lambda: escape_time(1e3, T_ST=1.0, tau_SNR=0.5), "tau_SNR"),
    (lambda: escape_spectrum(1e3, beta=np.nan), "beta"),
    (lambda: escape_spectrum(1e3, beta="0.1"), "beta"),
    (lambda: escape_spectrum(1e3, beta=-10.0), "beta"),       # slope below 1
    (lambda: escape_spectrum(1e3, beta=10.0), "beta"),        # slope above 4
    (lambda: escape_spectrum(1e3, tau_SNR=1e-4), "tau_SNR"),
    (lambda: adjusted_beta(2.67, 2.0), "gamma_obs - delta"),
    (lambda: adjusted_beta(np.inf, 1 / 3), "gamma_obs"),
    (lambda: escape_alpha(E0=1e7), "E_M_p"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ----------------------------------------------------------------------------- BA's β adjustment
@pytest.mark.parametrize("tau", [3e4 * yr, 3e5 * yr])
def test_escape_alpha_fixes_E0_at_tau(tau):
    a = escape_alpha(tau_SNR=tau)
    assert a == pytest.approx(math.log(3e6) / math.log(tau / (1e3 * yr)), rel=1e-14)
    # E_max(tau_SNR) = E_M (tau/T_ST)^-alpha = E0 = 1 GeV
    assert 3 * PeV * (tau / (1e3 * yr)) ** (-a) == pytest.approx(1.0 * GeV, rel=1e-12)


@pytest.mark.parametrize("tau", [3e4 * yr, 3e5 * yr])
@pytest.mark.parametrize("beta", [0.0, 0.4, 1.3])
@pytest.mark.parametrize("Z", [1.0, 26.0])
def test_escape_spectrum_slope_is_2_plus_beta_over_alpha(tau, beta, Z):
    a = escape_alpha(tau_SNR=tau)
    E = np.logspace(1, 6, 11) * Z          # Z E0 < E < Z E_M
    f = escape_spectrum(E, Z, beta, tau_SNR=tau)
    # central finite differences of ln N against ln E
    h = 1e-4
    up = escape_spectrum(E * math.exp(h), Z, beta, tau_SNR=tau)
    dn = escape_spectrum(E * math.exp(-h), Z, beta, tau_SNR=tau)
    slope = -(np.log(up) - np.log(dn)) / (2 * h)
    assert np.allclose(slope, 2 + beta / a, rtol=0, atol=1e-8)
    assert np.all(f > 0)


@pytest.mark.parametrize("tau", [3e4 * yr, 3e5 * yr])
def test_escape_spectrum_is_efficiency_at_the_escape_time(tau):
    """E^-2 (E_M/E)^(beta/alpha) = E^-2 eta(t_esc(E))/eta(T_ST): the second form goes
    through escape_time, the first does not."""
    beta = 0.7
    E = np.logspace(0.5, 6.4, 9)
    ratio = escape_spectrum(E, 1, beta, tau_SNR=tau) / escape_spectrum(E, 1, 0.0, tau_SNR=tau)
    eta = (escape_time(E, 1, tau_SNR=tau) / (1e3 * yr)) ** beta
    # equal up to the constant (E_M/GeV)^(beta/alpha) of the normalisation at 1 GeV
    const = (3 * PeV / GeV) ** (-beta / escape_alpha(tau_SNR=tau))
    assert np.allclose(ratio, const * eta, rtol=1e-11)
    assert np.allclose(escape_spectrum(E, 1, 0.0, tau_SNR=tau), E ** -2.0, rtol=1e-12)


def test_escape_spectrum_sharp_cut_at_Z_E_M():
    for Z in (1.0, 2.0, 26.0):
        assert escape_spectrum(Z * 3 * PeV, Z, 0.3) > 0
        assert escape_spectrum(Z * 3 * PeV * (1 + 1e-9), Z, 0.3) == 0.0
        assert np.all(escape_spectrum(np.array([10, 100]) * Z * PeV, Z, 0.3) == 0.0)


@pytest.mark.parametrize("tau", [3e4 * yr, 3e5 * yr])
@pytest.mark.parametrize("delta", [1 / 3, 0.6])
def test_adjusted_beta_gives_the_observed_slope(tau, delta):
    b = adjusted_beta(2.67, delta, tau_SNR=tau)
    a = escape_alpha(tau_SNR=tau)
    assert b == pytest.approx(a * (2.67 - 2 - delta), rel=1e-14)
    assert 2 + b / a == pytest.approx(2.67 - delta, rel=1e-14)


@pytest.mark.parametrize("tau", [3e4 * yr, 3e5 * yr])
def test_beta_adjusted_escape_propagates_like_bursts(tau):
    """Scenario(escape_beta = adjusted_beta): propagated slope and 1 TeV weights equal the
    burst case's (below the cut-offs, where the two differ only by exp(-E/Z E_M))."""
    from crlib.ensemble import channels
    from crlib.presets import ba_scenario
    from crlib.species import disk_density_factor
    E = (100.0, 10 ** 2.5, 1000.0)
    burst = ba_scenario(tau_snr=None, spallation=False, n_energies=3, E_range=(100.0, 1000.0))
    beta = adjusted_beta(2.67, 1 / 3, tau_SNR=tau, E_M_p=burst.E_max_p)
    cont = ba_scenario(tau_snr=tau, spallation=False, n_energies=3, E_range=(100.0, 1000.0))
    import dataclasses
    adj = dataclasses.replace(cont, escape_beta=beta)
    assert np.allclose(adj.energies, E)
    cb, ca = channels(burst), channels(adj)
    nb = cb.weight * disk_density_factor(cb.D, burst.H, 0.0)
    na = ca.weight * disk_density_factor(ca.D, adj.H, 0.0)
    sb = -np.log(nb[:, 2] / nb[:, 0]) / np.log(10.0)
    sa = -np.log(na[:, 2] / na[:, 0]) / np.log(10.0)
    Z = np.array([s.Z for s in burst.species])
    # burst: gamma + delta plus the exponential cut-off's tiny curvature; adjusted: exactly 2.67
    assert np.allclose(sa, 2.67, rtol=0, atol=1e-12)
    assert np.allclose(sb, 2.67 + (E[2] - E[0]) / (Z * 3 * PeV) / np.log(10.0), rtol=0, atol=1e-9)
    # the same flux at 1 TeV (the normalisation), so every group keeps its weight there
    assert np.allclose(na[:, 2], nb[:, 2], rtol=1e-12)
    # unadjusted escape (beta = 0) is E^-2: propagated slope 2 + delta
    flat = channels(dataclasses.replace(cont, escape_beta=0.0))
    nf = flat.weight * disk_density_factor(flat.D, cont.H, 0.0)
    assert np.allclose(-np.log(nf[:, 2] / nf[:, 0]) / np.log(10.0), 2 + 1 / 3, atol=1e-12)


def test_escape_beta_default_leaves_channels_unchanged():
    import dataclasses
    from crlib.ensemble import channels
    from crlib.presets import ba_scenario
    from crlib.species import injection_shape
    sc = ba_scenario(tau_snr=3e4 * yr, n_energies=5)
    assert sc.escape_beta is None
    ch = channels(sc)
    shape = np.stack([injection_shape(np.asarray(sc.energies), s, sc.injection_index, sc.E_max_p)
                      for s in sc.species])
    K = ch.weight[:, 0] / shape[:, 0]
    assert np.allclose(ch.weight, K[:, None] * shape, rtol=1e-14)
    # the option changes the weights above the cut-off: sharp zero instead of exp(-E/Z E_M)
    adj = channels(dataclasses.replace(sc, escape_beta=adjusted_beta(2.67, 1 / 3)))
    E = np.asarray(sc.energies)
    Z = np.array([s.Z for s in sc.species])
    above = E[None, :] > Z[:, None] * sc.E_max_p
    assert np.any(above) and np.all(adj.weight[above] == 0) and np.all(ch.weight[above] > 0)
    assert np.array_equal(adj.delay, ch.delay) and np.array_equal(adj.D, ch.D)


@pytest.mark.parametrize("kw, name", [
    (dict(tau_snr=None, escape_beta=0.1), "escape_beta"),
    (dict(tau_snr=3e4 * yr, escape_beta=float("nan")), "escape_beta"),
    (dict(tau_snr=3e4 * yr, escape_beta=50.0), "beta"),
    (dict(tau_snr=3e4 * yr, escape_beta="1"), "escape_beta"),
])
def test_escape_beta_bad_input(kw, name):
    import dataclasses
    from crlib.presets import ba_scenario
    sc = ba_scenario(tau_snr=3e4 * yr, n_energies=2)
    with pytest.raises(ValueError, match=name):
        dataclasses.replace(sc, **kw)
