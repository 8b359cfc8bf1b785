"""crlib.anisotropy: dipole estimators, phases, and BA's large-scale/fluctuation decomposition."""

import numpy as np
import pytest

from crlib import anisotropy as an
from crlib.units import c_light


def test_single_species_reduces_to_3D_grad_n_over_c_n():
    rng = np.random.default_rng(1)
    n = rng.uniform(1, 2, size=(1, 4))
    grad = rng.normal(size=(1, 4, 3))
    D = rng.uniform(0.1, 1, size=(1, 4))
    expected = 3 * D[0, :, None] * grad[0] / (c_light * n[0, :, None])
    np.testing.assert_allclose(an.dipole(n, grad, D), expected, rtol=1e-14)


def test_all_particle_dipole_weights_currents_by_density_share():
    # two species with dipoles d1, d2 and densities n1, n2: total = (n1 d1 + n2 d2)/(n1 + n2)
    n = np.array([[3.0], [1.0]])
    D = np.array([[0.5], [2.0]])
    d1, d2 = np.array([1e-3, 0, 0]), np.array([0, 2e-3, 0])
    grad = np.stack([d1 * c_light * n[0, 0] / (3 * D[0, 0]), d2 * c_light * n[1, 0] / (3 * D[1, 0])])[:, None, :]
    total = an.dipole(n, grad, D)[0]
    np.testing.assert_allclose(total, (3 * d1 + 1 * d2) / 4, rtol=1e-13)


def test_leading_axes_are_free():
    rng = np.random.default_rng(2)
    n = rng.uniform(1, 2, size=(7, 2, 5))
    grad = rng.normal(size=(7, 2, 5, 3))
    D = rng.uniform(0.1, 1, size=(2, 5))
    full = an.dipole(n, grad, D)
    assert full.shape == (7, 5, 3)
    np.testing.assert_allclose(full[3], an.dipole(n[3], grad[3], D), rtol=1e-14)


def test_phase_conventions_differ_by_pi():
    d = np.random.default_rng(3).normal(size=(100, 3))
    diff = np.mod(an.phase_max_intensity(d) - an.phase_streaming(d), 2 * np.pi)
    np.testing.assert_allclose(diff, np.pi, atol=1e-12)


def test_inward_gradient_gives_streaming_phase_zero():
    # more cosmic rays towards the Galactic centre (-x from the Sun): delta along -x
    d = np.array([-1e-3, 0.0, 0.0])
    assert an.phase_streaming(d) == pytest.approx(0.0)
    assert abs(an.phase_max_intensity(d)) == pytest.approx(np.pi)


def test_angle_between_against_arccos():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    np.testing.assert_allclose(an.angle_between(a, b), np.arccos(cos), atol=1e-12)
    assert an.angle_between([1e-9, 1, 0], [0, 1, 0]) == pytest.approx(1e-9, rel=1e-6)


def test_amplitude():
    assert an.amplitude([3e-4, 4e-4, 0]) == pytest.approx(5e-4)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=np.ones((2, 3)), grad=np.ones((2, 3, 2)), D=np.ones((2, 3))), "grad"),
    (dict(n=np.ones((2, 3)), grad=np.ones((2, 3, 3)), D=np.ones((3, 2))), "D"),
    (dict(n=np.ones((2, 3)), grad=np.ones((2, 3, 3)), D=-np.ones((2, 3))), "D"),
    (dict(n=np.zeros((2, 3)), grad=np.ones((2, 3, 3)), D=np.ones((2, 3))), "n"),
    (dict(n=np.full((2, 3), np.nan), grad=np.ones((2, 3, 3)), D=np.ones((2, 3))), "n"),
])
def test_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        an.dipole(**kwargs)


# ============================================================================
# single species, phases
# ============================================================================

def test_dipole_single_matches_all_particle_with_one_species():
    rng = np.random.default_rng(5)
    n = rng.uniform(1, 2, size=(6, 1, 8))
    grad = rng.normal(size=(6, 1, 8, 3))
    D = rng.uniform(0.1, 1, size=(1, 8))
    np.testing.assert_allclose(an.dipole(n, grad, D), an.dipole_single(n[:, 0], grad[:, 0], D[0]), rtol=1e-14)


def test_phase_ba_folds_the_two_directions():
    rng = np.random.default_rng(6)
    d = rng.normal(size=(200, 3))
    pb = an.phase_ba(d)
    assert np.all(np.abs(pb) <= np.pi / 2)
    # equal to both atan2 conventions modulo pi
    for other in (an.phase_max_intensity(d), an.phase_streaming(d)):
        diff = np.mod(pb - other + np.pi / 2, np.pi) - np.pi / 2
        np.testing.assert_allclose(diff, 0.0, atol=1e-12)
    # a dipole towards the Galactic centre (-x) and one away from it give the same BA phase
    assert an.phase_ba([-1e-3, 1e-4, 0]) == pytest.approx(an.phase_ba([1e-3, -1e-4, 0]))
    assert an.phase_ba([-1e-3, 1e-4, 0]) == pytest.approx(np.arctan(-0.1))
    assert an.phase_ba([0.0, 1e-3, 0]) == pytest.approx(np.pi / 2)


@pytest.mark.parametrize("call, name", [
    (lambda: an.dipole_single(np.ones(3), np.ones((3, 2)), 1.0), "grad"),
    (lambda: an.dipole_single(np.zeros(3), np.ones((3, 3)), 1.0), "n"),
])
def test_bad_input_names_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
