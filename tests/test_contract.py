"""Regression tests of issue 17 (the contract items owned by diffusion, anisotropy,
observable, ensemble, species and analytic's ba_delta_A2_Tmin): each test failed before
its fix."""

import math
import warnings

import numpy as np
import pytest

from crlib import analytic as an
from crlib import ensemble as ens
from crlib import observable as ob
from crlib.anisotropy import amplitude, angle_between, dipole, phase_ba, phase_max_intensity, phase_streaming
from crlib.diffusion import (BADiffusion, KneeBreak, PowerLawDiffusion, SHDiffusion, larmor_radius,
                             mean_free_path, transition_energy)
from crlib.largescale import decomposition
from crlib.sources import Cylindrical
from crlib.species import BA_GROUPS, PROTONS
from crlib.units import GeV, PeV, muG, yr


# ----------------------------------------------------------------------------- radec
def test_radec_never_returns_360():
    """np.degrees(-1e-20) % 360 rounds to 360.0; RA must be in [0, 360)."""
    ra, dec = ob.radec(np.array([[1.0, -1e-20, 0.0], [1.0, -1e-14, 0.3], [-1.0, -1e-300, 0.0]]))
    assert np.all((ra >= 0) & (ra < 360)), ra
    assert ra[0] == 0.0 and ra[2] == pytest.approx(180.0)
    assert ob._wrap360(np.array([-1e-17, 360.0, 720.0, -360.0]))[0] == 0.0
    assert np.all(ob._wrap360(np.linspace(-1e3, 1e3, 10001)) < 360.0)
    amp, phase = ob.first_harmonic(np.random.default_rng(0).normal(size=(2000, 3)))
    assert np.all((phase >= 0) & (phase < 360))


# ----------------------------------------------------------------------------- transition energy
def test_transition_energy_of_a_kneebreak_is_its_break():
    """The root of r_L = 3D/c is a tangent point for a KneeBreak (f <= 0 on both sides): Brent
    raised "no crossing".  It is the break, where r_L equals the mean free path."""
    for base in (SHDiffusion(), BADiffusion(1 / 3, 4.0), PowerLawDiffusion(0.02, 0.5)):
        kb = KneeBreak(base, B=3 * muG)
        Z = np.array([1.0, 2.0, 26.0])
        Et = transition_energy(kb, Z)
        np.testing.assert_allclose(Et, transition_energy(base, Z, 3 * muG), rtol=1e-14)
        np.testing.assert_allclose(larmor_radius(Et, Z, 3 * muG), mean_free_path(kb, Et, Z), rtol=1e-10)
        # the tangent: r_L <= lambda on both sides
        for f in (0.5, 2.0):
            assert np.all(larmor_radius(f * Et, Z, 3 * muG) <= mean_free_path(kb, f * Et, Z) * (1 + 1e-12))
        assert transition_energy(kb, 1.0, B=3 * muG) == pytest.approx(float(Et[0]), rel=1e-15)
        with pytest.raises(ValueError, match="B must be None or the KneeBreak's own field"):
            transition_energy(kb, 1.0, B=1 * muG)


def test_slopes_near_one_are_computed_or_rejected_with_the_range():
    """p = 0.999 gave OverflowError in the closed form (exponent 1/(1-p) = 1000)."""
    m = PowerLawDiffusion(6e26 * 1e-30, 0.999)       # any D0: the exponent is what overflows
    with pytest.raises(ValueError, match=r"delta = 0\.999.*computable for a slope in \[0, ") as err:
        transition_energy(m)
    p_max = float(str(err.value).rsplit("[0, ", 1)[1].rstrip(")"))
    assert 0.0 < p_max < 0.999
    ok = PowerLawDiffusion(m.D0, 0.999 * p_max)       # just inside the stated range: finite and a root
    Et = transition_energy(ok)
    assert math.isfinite(Et) and Et > 0
    assert larmor_radius(Et) == pytest.approx(mean_free_path(ok, Et), rel=1e-9)
    with pytest.raises(ValueError, match="delta"):
        KneeBreak(m)                                  # rejected at construction, not at first use
    with pytest.raises(ValueError, match="p must be in"):
        SHDiffusion(p=1.0)


def test_huge_values_of_D_are_rejected_naming_E():
    kb = KneeBreak(SHDiffusion())
    assert math.isfinite(kb.D(1e150))
    with pytest.raises(ValueError, match=r"E = 1e\+300 GeV"):
        kb.D(np.array([1e3, 1e300]))                  # (E/E_t)^2 overflows: was inf
    with pytest.raises(ValueError, match="E = "):
        PowerLawDiffusion(1e300, 0.9).D(1e300)        # was inf
    with pytest.raises(ValueError, match="E = "):
        PowerLawDiffusion(1e-300, 0.9).D(1e-300)      # underflows to 0: was 0.0
    # KneeBreak.D is continuous at the break and grows as E^2 above it
    Et = kb.transition_energy(1.0)
    assert kb.D(Et * (1 + 1e-12)) == pytest.approx(kb.D(Et), rel=1e-10)
    assert kb.D(10 * Et) / kb.D(Et) == pytest.approx(100.0, rel=1e-12)


def test_shdiffusion_names_p():
    with pytest.raises(ValueError, match=r"^p must be"):
        SHDiffusion(p=-1)
    with pytest.raises(ValueError, match=r"^D0 must"):
        SHDiffusion(D0=-1)


# ----------------------------------------------------------------------------- no arrival
def _scenario(**kw):
    base = dict(sources=Cylindrical(), rate=1 / (1000 * yr), T=1.0, H=4.0,
                diffusion=BADiffusion(1 / 3, 4.0), injection_index=2.67 - 1 / 3, species=PROTONS)
    base.update(kw)
    return ens.Scenario(**base)


@pytest.mark.parametrize("case, kw, empty", [
    ("above the injection cut-off", dict(energies=(1e3, 1e12), species=BA_GROUPS), [False, True]),
    ("below Z E0, continuous escape", dict(energies=(0.5, 1e3), tau_snr=0.03), [True, False]),
    ("no source old enough yet", dict(energies=(1e3, 1e5), T=1e-4), [True, True]),
])
def test_an_energy_where_no_particle_arrives_keeps_the_ensemble(case, kw, empty, tmp_path):
    """The ensemble was lost with "n must have a positive total" although other energies are fine.
    Now: NaN dipole there, recorded in no_arrival, a warning, the other energies unchanged."""
    sc = _scenario(**kw)
    with pytest.warns(RuntimeWarning, match="no particle arrives"):
        r = ens.run_ensemble(sc, 2, seed=5, cache_dir=tmp_path, progress=False)
    expect = np.broadcast_to(np.array(empty), (2, 2))
    np.testing.assert_array_equal(r.no_arrival, expect)
    assert np.all(np.isnan(r.delta[expect])) and np.all(np.isfinite(r.delta[~expect]))
    assert np.all(r.n.sum(axis=1)[expect] == 0) and np.all(np.isnan(r.amplitude[expect]))
    good = [j for j in range(2) if not empty[j]]
    if good:
        only = _scenario(**{**kw, "energies": tuple(sc.energies[j] for j in good)})
        ref = ens.run_ensemble(only, 2, seed=5, progress=False)
        np.testing.assert_allclose(r.delta[:, good], ref.delta, rtol=1e-12, atol=0)
    # the file with NaN channels is valid under the documented convention: served as is
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = ens.run_ensemble(sc, 2, seed=5, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.delta, r.delta)


def test_dipole_of_zero_density_is_nan_and_inconsistent_input_is_refused():
    n = np.array([[1.0, 0.0], [2.0, 0.0]])
    grad = np.zeros((2, 2, 3))
    grad[:, 0, 0] = 1e-3
    d = dipole(n, grad, np.ones((2, 2)))
    assert np.all(np.isfinite(d[0])) and np.all(np.isnan(d[1]))
    grad[0, 1, 2] = 1.0
    with pytest.raises(ValueError, match="grad must be zero where the total density n is zero"):
        dipole(n, grad, np.ones((2, 2)))
    with pytest.raises(ValueError, match="n must be >= 0"):
        dipole(-n, np.zeros((2, 2, 3)), np.ones((2, 2)))


# ----------------------------------------------------------------------------- other items
def test_ba_delta_A2_Tmin_accepts_an_array_rate():
    args = dict(D=0.1, R_d=15.0, H=4.0, T_min=0.5)
    rates = [10.0, 30.0, 100.0]
    vec = an.ba_delta_A2_Tmin(rate=rates, **args)
    np.testing.assert_allclose(vec, [an.ba_delta_A2_Tmin(rate=r, **args) for r in rates], rtol=1e-15)
    np.testing.assert_allclose(vec[0] / vec[2], math.sqrt(10.0), rtol=1e-14)    # ~ rate^-1/2


class _NaNModel:
    def D(self, E, Z=1.0):
        return np.full(np.shape(E), np.nan)


@pytest.mark.parametrize("call, name", [
    (lambda: transition_energy(object()), "model"),
    (lambda: transition_energy(PowerLawDiffusion), "model"),               # the class, not an instance
    (lambda: mean_free_path("BA", 1e3), "model"),
    (lambda: KneeBreak(base=3.0), "base"),
    (lambda: _scenario(energies=(1e3,), diffusion=object()), "diffusion"),
    (lambda: decomposition(1e3, 5.0, 4.0, Cylindrical(), rate=0.03), "diffusion"),
    (lambda: ens.channels(_scenario(energies=(1e3,), diffusion=_NaNModel())), "diffusion.D"),
    (lambda: mean_free_path(_NaNModel(), 1e3), "model.D"),
])
def test_non_model_objects_give_a_named_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda: PowerLawDiffusion(0.01, 0.3).D(np.array([1e3 + 1e2j])), "E"),
    (lambda: PowerLawDiffusion(0.01 + 0j, 0.3), "D0"),
    (lambda: dipole(np.ones((1, 2)) * (1 + 1j), np.zeros((1, 2, 3)), np.ones((1, 2))), "n"),
    (lambda: ob.radec(np.array([1.0, 1j, 0.0])), "vec_eq"),
    (lambda: amplitude(np.array([1.0, 2.0, 3.0 + 0.5j])), "delta"),
    (lambda: ens.bands(np.ones((3, 2)) + 0j), "amplitudes"),
])
def test_complex_input_is_rejected_not_truncated(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be real"):
        call()


@pytest.mark.parametrize("func", [amplitude, phase_max_intensity, phase_streaming, phase_ba])
def test_vector_functions_validate(func):
    with pytest.raises(ValueError, match="delta must have a last axis of length 3"):
        func(np.ones((4, 2)))
    with pytest.raises(ValueError, match="delta must be finite"):
        func([np.inf, 0.0, 0.0])
    with pytest.raises(ValueError, match="delta must be numeric"):
        func("x")
    with pytest.raises(ValueError, match="entirely NaN"):
        func([np.nan, 0.0, 0.0])
    out = np.asarray(func(np.array([[np.nan] * 3, [1.0, 2.0, 3.0]])))
    assert np.isnan(out[0]) and np.isfinite(out[1])            # "no arrival" passes through


def test_angle_between_and_mean_direction_refuse_undefined_directions():
    with pytest.raises(ValueError, match="a must not contain a zero vector"):
        angle_between([0.0, 0.0, 0.0], [1.0, 0.0, 0.0])         # was silently 0
    with pytest.raises(ValueError, match="a and b must broadcast"):
        angle_between(np.ones((2, 3)), np.ones((3, 3)))
    d = np.array([[[1.0, 0.0, 0.0]], [[-1.0, 0.0, 0.0]]])
    with pytest.raises(ValueError, match="ensemble-mean dipole of exactly zero"):
        ens.mean_direction(d)                                   # was NaN
    with pytest.raises(ValueError, match=r"delta must have shape \(N, n_E, 3\)"):
        ens.mean_direction(np.ones((2, 3)))
    d = np.array([[[1.0, 0.0, 0.0], [np.nan] * 3], [[1.0, 2.0, 0.0], [np.nan] * 3],
                  [[np.nan] * 3, [np.nan] * 3]])
    m = ens.mean_direction(d)
    np.testing.assert_allclose(m[0], np.array([1.0, 1.0, 0.0]) / math.sqrt(2), rtol=1e-15)
    assert np.all(np.isnan(m[1]))


def test_strings_none_and_booleans_are_not_numbers():
    m = PowerLawDiffusion(0.01, 0.3)
    for bad in ("1e3", None, True, np.array([True, False])):
        with pytest.raises(ValueError, match="E must be numeric"):
            m.D(bad)
