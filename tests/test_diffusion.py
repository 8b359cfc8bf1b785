import math

import numpy as np
import pytest

from crlib.diffusion import (BADiffusion, KneeBreak, PowerLawDiffusion, SHDiffusion,
                             escape_time, larmor_radius, mean_free_path, transition_energy)
from crlib.units import GeV, PeV, cm2_per_s, muG, yr


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
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
