"""Tests of crlib.analytic: the papers' numbers and independent numerical checks."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from crlib import analytic as an
from crlib.diffusion import KneeBreak, SHDiffusion, larmor_radius, mean_free_path, transition_energy
from crlib.largescale import t_min
from crlib.sources import ExponentialDisk, surface_density
from crlib.units import GeV, PeV, TeV, c_light, cm2_per_s, kpc, km_per_s, muG, pc, yr

D0_SH = 6e26 * cm2_per_s


def _E_trans(Z, D0, p, B):
    """The knee energy for D = D0 (E/Z GeV)^p from its one home, crlib.diffusion."""
    return transition_energy(SHDiffusion(D0, p), Z, B)


def _broken_D(E, Z, D0, p, B):
    return KneeBreak(SHDiffusion(D0, p), B).D(E, Z)


def _sigma_exp(rate, r_d, R):
    """Surface rate density of an exponential disk at radius R, from crlib.sources."""
    return float(surface_density(ExponentialDisk(r_d=r_d), R, 0.0, rate=rate))


# --------------------------------------------------------------- SH §3 numbers

def test_anisotropy_at_1TeV_for_300pc_is_1em3():
    # SH eq. 4: A ~ 1e-3 (h/300 pc)(E/TeV)^(1/3) with tau(1 GeV) = 1e7 yr
    A = an.anisotropy_pinned(1 * TeV, 300 * pc)
    assert A == pytest.approx(1e-3, rel=0.03)
    # scaling: linear in h, E^(1/3)
    assert an.anisotropy_pinned(8 * TeV, 600 * pc) / A == pytest.approx(4.0, rel=1e-12)


def test_gradient_and_age_combine_into_eq4():
    # A = 3D/(ch) (eq. 2) with D pinned by tau = h^2/3D (eq. 3) equals h/(c tau) (eq. 4)
    h = 250 * pc
    D0 = an.D0_from_age(h)
    E = np.logspace(1, 6, 7) * GeV
    D = SHDiffusion(D0, 1 / 3).D(E, 1)
    assert np.allclose(an.anisotropy_gradient(D, h), an.anisotropy_pinned(E, h), rtol=1e-12)
    assert np.allclose(an.cr_age(D, h), an.age_pinned(E), rtol=1e-12)
    # SH's nominal D0 = 6e26 cm^2/s is the 10Be value for h = 250 pc
    assert D0 / cm2_per_s == pytest.approx(6e26, rel=0.06)


def test_age_at_1TeV_is_1Myr():
    assert an.age_pinned(1 * TeV) == pytest.approx(1.0, rel=1e-12)  # Myr
    assert an.age_pinned(1 * GeV) * 1e6 == pytest.approx(1e7, rel=1e-12)  # yr


def test_local_surface_rate_value():
    R = _sigma_exp(1 / (30 * yr), 4 * kpc, 8.5 * kpc)
    assert R * yr == pytest.approx(3.9e-5, rel=0.03)  # kpc^-2 yr^-1 (:ref:`model-analytic`)


def test_local_surface_rate_against_quadrature():
    rate, r_d, R_sun = 1 / (30 * yr), 4 * kpc, 8.5 * kpc
    shape = lambda r: math.exp(-r / r_d)  # unnormalised
    norm, _ = integrate.quad(lambda r: 2 * math.pi * r * shape(r), 0, np.inf)
    expected = rate * shape(R_sun) / norm
    assert _sigma_exp(rate, r_d, R_sun) == pytest.approx(expected, rel=1e-10)
    # and the normalised density integrates back to the rate
    tot, _ = integrate.quad(lambda r: 2 * math.pi * r * _sigma_exp(rate, r_d, r), 0, 200)
    assert tot == pytest.approx(rate, rel=1e-8)


def test_n_sources_at_1TeV():
    h = 300 * pc
    tau = an.age_pinned(1 * TeV)  # 1 Myr
    n = an.n_sources(h, tau)
    assert n == pytest.approx(11.0, abs=0.5)  # :ref:`model-analytic`, R_sun = 8.5 kpc
    n8 = an.n_sources(h, tau, _sigma_exp(1 / (30 * yr), 4 * kpc, 8 * kpc))
    assert n8 == pytest.approx(13.0, abs=0.5)  # R_sun = 8 kpc
    for nn in (n, n8):
        assert 0.25 <= an.relative_fluctuation(nn) <= 0.30
    # n falls with energy (the sign lost in SH eq. 5): factor 2 for 8x energy at p = 1/3
    assert an.n_sources(h, an.age_pinned(8 * TeV)) / n == pytest.approx(0.5, rel=1e-12)


def test_compton_getting():
    assert an.compton_getting(2.7, 20 * km_per_s) == pytest.approx(3e-4, rel=0.06)
    assert an.compton_getting(2.7, 0.0) == 0.0


# ------------------------------------------------------------------ the knee

@pytest.mark.parametrize("B, expected", [(1, 2.4), (2, 6.8), (3, 12.6)])
def test_transition_energy_papers_numbers(B, expected):
    E = _E_trans(1, D0_SH, 1 / 3, B * muG)
    assert E / PeV == pytest.approx(expected, rel=0.01)


def test_transition_energy_scalings():
    Ep = _E_trans(1, D0_SH, 1 / 3, muG)
    assert _E_trans(26, D0_SH, 1 / 3, muG) / Ep == pytest.approx(26, rel=1e-12)
    assert _E_trans(1, 2 * D0_SH, 1 / 3, muG) / Ep == pytest.approx(2**1.5, rel=1e-12)
    # a steeper D (larger p) pushes the knee up (SH §2)
    assert _E_trans(1, D0_SH, 0.5, muG) > Ep


@pytest.mark.parametrize("Z, D0, p, B", [(1, D0_SH, 1 / 3, muG), (26, D0_SH, 1 / 3, 2 * muG),
                                         (2, 3e27 * cm2_per_s, 0.5, 3 * muG), (1, 1e28 * cm2_per_s, 0.6, 1 * muG)])
def test_transition_energy_root_find(Z, D0, p, B):
    # independent: solve r_L(E) = 3 D(E)/c numerically on log E
    f = lambda lnE: math.log(larmor_radius(math.exp(lnE), Z, B)) - math.log(
        3 * D0 * (math.exp(lnE) / Z) ** p / c_light)
    lnE = optimize.brentq(f, math.log(1.0), math.log(1e15), xtol=1e-13)
    assert _E_trans(Z, D0, p, B) == pytest.approx(math.exp(lnE), rel=1e-9)


def test_mean_free_path_from_D_is_diffusion_mean_free_path():
    """The two mean free paths differ in signature, not in meaning: lambda = 3 D / c."""
    model = SHDiffusion(D0_SH, 1 / 3)
    E = np.logspace(2, 8, 7)
    for Z in (1, 26):
        np.testing.assert_allclose(an.mean_free_path_from_D(model.D(E, Z)), mean_free_path(model, E, Z),
                                   rtol=1e-14)


def test_broken_D_continuity_and_slopes():
    Z, p, B = 26, 1 / 3, muG
    Et = _E_trans(Z, D0_SH, p, B)
    lo, hi = _broken_D(Et * (1 - 1e-9), Z, D0_SH, p, B), _broken_D(Et * (1 + 1e-9), Z, D0_SH, p, B)
    assert hi == pytest.approx(lo, rel=1e-7)
    # at the break the Larmor radius equals the mean free path
    assert larmor_radius(Et, Z, B) == pytest.approx(an.mean_free_path_from_D(_broken_D(Et, Z, D0_SH, p, B)), rel=1e-9)
    slope = lambda E1, E2: math.log(_broken_D(E2, Z, D0_SH, p, B) / _broken_D(E1, Z, D0_SH, p, B)) / math.log(E2 / E1)
    assert slope(Et / 100, Et / 10) == pytest.approx(p, rel=1e-9)
    assert slope(Et * 10, Et * 100) == pytest.approx(2.0, rel=1e-9)
    # below the break it is the plain power law
    assert _broken_D(1e3, Z, D0_SH, p, B) == pytest.approx(SHDiffusion(D0_SH, p).D(1e3, Z), rel=1e-12)


def test_all_particle_amplitude_weighting():
    A = np.array([[1e-3, 2e-3], [4e-3, 4e-3]])
    F = np.array([[3.0, 1.0], [1.0, 1.0]])
    assert np.allclose(an.all_particle_amplitude(A, F), [(3e-3 + 4e-3) / 4, 3e-3])


# ------------------------------------------------------------------ BA §3

def _ba_eq38_quadrature(N0, rate, D, H, T_min, R_d, l_max=6):
    """Direct quadrature of BA eq. 3.8 (thin disk, full image sums, finite disk radius)."""
    ls = np.arange(-l_max, l_max + 1)

    def image_sum(tau):
        return np.sum((-1.0) ** ls * np.exp(-ls**2 * H**2 / (D * tau)))

    def radial(tau):
        # ∫_0^{R_d} 2π r dr r²/(2Dτ)² exp(-r²/(2Dτ))
        g = lambda r: 2 * math.pi * r * r**2 / (2 * D * tau) ** 2 * math.exp(-r**2 / (2 * D * tau))
        return integrate.quad(g, 0, R_d, limit=200)[0]

    def integrand(lntau):
        tau = math.exp(lntau)
        return tau * radial(tau) * image_sum(tau) ** 2 / (4 * math.pi * D * tau) ** 3

    # beyond D tau = 30 H^2 the vertical factor is below exp(-140): stop there, where the
    # truncated image sum is still exact (l_max^2 H^2 / D tau >= 50 for l_max = 40)
    upper = min(math.log(T_min) + 25, math.log(30 * H**2 / D))
    val = integrate.quad(integrand, math.log(T_min), upper, limit=400, epsrel=1e-10)[0]
    return N0**2 * D**2 * rate / (math.pi * R_d**2) * val


def test_ba_eq39_against_quadrature_of_eq38():
    N0, rate, R_d = 1.0, 1 / (30 * yr), 15 * kpc
    D, H = 0.05, 4 * kpc
    T_min = 1.0  # Myr: H^2/(D T_min) = 320 >> 1
    num = _ba_eq38_quadrature(N0, rate, D, H, T_min, R_d)
    assert an.ba_current_fluctuation(N0, rate, D, T_min, R_d) == pytest.approx(num, rel=5e-3)
    # outside the regime (H^2/(D T_min) ~ 1) the image terms matter and eq. 3.9 overestimates
    num_small_H = _ba_eq38_quadrature(N0, rate, D, 0.2 * kpc, T_min, R_d)
    assert num_small_H < 0.9 * an.ba_current_fluctuation(N0, rate, D, T_min, R_d)


@pytest.mark.parametrize("H", [4 * kpc, 0.4 * kpc, 0.2 * kpc])
def test_ba_eq38_full_image_sum_against_quadrature(H):
    # independent: radial quad to R_d and explicit image sums, vs the closed radial integral
    N0, rate, R_d, D, T_min = 1.0, 1 / (30 * yr), 15 * kpc, 0.05, 1.0
    num = _ba_eq38_quadrature(N0, rate, D, H, T_min, R_d, l_max=40)
    full = an.ba_current_fluctuation_full(N0, rate, D, H, T_min, R_d)
    assert full == pytest.approx(num, rel=1e-6)
    # never above the l = m = 0 approximation (BA eq. 3.9); the image terms remove the
    # ages tau >~ H^2/D, a relative correction of order (D T_min / H^2)^2
    lead = an.ba_current_fluctuation(N0, rate, D, T_min, R_d)
    assert full <= lead * (1 + 1e-12)
    u = D * T_min / H**2
    assert 1 - full / lead < 10 * u**2


def test_t_min_generalises_eq312():
    rate, R_d = 1 / (30 * yr), 15 * kpc
    D = np.array([1e-3, 0.03, 1.0])
    np.testing.assert_allclose(t_min(rate / (math.pi * R_d**2), D), an.ba_T_min(rate, D, R_d), rtol=1e-12)
    sig = 55.0
    T = t_min(sig, D)
    np.testing.assert_allclose(sig * T * 4 * math.pi * D * T, 1.0, rtol=1e-12)


def test_ba_T_min_definition():
    rate, R_d = 1 / (30 * yr), 15 * kpc
    for D in (1e-3, 0.03, 1.0):
        T = an.ba_T_min(rate, D, R_d)
        expected_number = rate * T / (math.pi * R_d**2) * (4 * math.pi * D * T)
        assert expected_number == pytest.approx(1.0, rel=1e-12)


def test_ba_eq311_and_eq313_follow_from_eqs39_310():
    N0, rate, R_d, H = 2.0, 1 / (100 * yr), 15 * kpc, 2 * kpc
    D = np.array([0.01, 0.1, 1.0])
    T = 0.7
    dJ = an.ba_current_fluctuation(N0, rate, D, T, R_d)
    n = an.ba_mean_density(N0, rate, H, D, R_d)
    dA2 = np.sqrt(dJ) / (c_light * n / 3)
    assert np.allclose(an.ba_delta_A2_Tmin(D, rate, R_d, H, T), dA2, rtol=1e-12)
    Tm = an.ba_T_min(rate, D, R_d)
    assert np.allclose(an.ba_delta_A2_Tmin(D, rate, R_d, H, Tm), an.ba_delta_A2(D, H), rtol=1e-12)
    # eq. 3.13 is SH eq. 2 times 1/(2^(3/2) sqrt(pi)) ~ 0.2
    ratio = an.ba_delta_A2(D, H) / an.anisotropy_gradient(D, H)
    assert np.allclose(ratio, 1 / (2**1.5 * math.sqrt(math.pi)), rtol=1e-12)


def test_ba_mean_density_against_slab_solution():
    # ⟨n⟩ = surface rate · N · ∫ G_z dt, and ∫_0^∞ G_z(0,0,t) dt = H/(2D) for absorbing z = ±H
    N, rate, R_d, H, D = 1.0, 1 / (30 * yr), 15 * kpc, 3 * kpc, 0.1
    k = np.arange(1, 4001, 2)  # odd eigenmodes contribute at z = 0
    integral = np.sum((1 / H) * 4 * H**2 / (k**2 * math.pi**2 * D))
    expected = N * rate / (math.pi * R_d**2) * integral
    assert an.ba_mean_density(N, rate, H, D, R_d) == pytest.approx(expected, rel=1e-3)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("call, name", [
    (lambda: an.anisotropy_gradient(-1.0, 0.3), "D"),
    (lambda: an.anisotropy_gradient(0.01, 0.0), "h"),
    (lambda: an.cr_age(0.01, float("nan")), "h"),
    (lambda: an.age_pinned(1e3, p=1.2), "p"),
    (lambda: an.age_pinned(-5.0), "E"),
    (lambda: an.n_sources(0.3, -1.0), "tau"),
    (lambda: an.relative_fluctuation(0.0), "n"),
    (lambda: an.mean_free_path_from_D(0.0), "D"),
    (lambda: an.ba_T_min(1.0, 0.1, 0.0), "R_d"),
    (lambda: an.ba_delta_A2(0.1, -2.0), "H"),
    (lambda: an.ba_current_fluctuation(1.0, 1.0, 0.1, 0.0, 15.0), "T_min"),
    (lambda: an.compton_getting(2.7, -1.0), "v"),
    (lambda: an.compton_getting(2.7, 2 * c_light), "v"),
    (lambda: an.compton_getting("x", 1.0), "gamma"),
    (lambda: an.ba_current_fluctuation_full(1.0, 1.0, 0.1, -1.0, 1.0, 15.0), "H"),
])
def test_bad_input_names_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()
