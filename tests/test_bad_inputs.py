"""Sweep of bad inputs over the public functions of diffusion, anisotropy, observable,
largescale, species and ensemble (issue 17, item 6): every bad argument must raise a
ValueError whose message starts with (or names) that argument -- never numpy's anonymous
broadcasting message, a TypeError/AttributeError, or a silent NaN.

Kinds of bad value, applied to one argument of a valid call at a time:
``s`` wrong shape, ``n`` NaN, ``i`` inf, ``g`` negative, ``c`` complex, ``t`` a string,
``o`` None, ``m`` a non-model object (for model arguments).
"""

import re

import numpy as np
import pytest

from crlib import anisotropy as A
from crlib import diffusion as Dm
from crlib import ensemble as ens
from crlib import largescale as L
from crlib import observable as O
from crlib import species as S
from crlib.sources import Cylindrical
from crlib.units import muG, yr

V3 = np.array([[1e-3, 2e-4, -3e-4], [2e-3, -1e-4, 5e-4]])
PL = Dm.PowerLawDiffusion(0.01, 0.3)
SC = dict(sources=Cylindrical(), rate=1 / (1000 * yr), T=1.0, H=4.0, diffusion=PL,
          energies=(1e3, 1e5), injection_index=2.3, species=S.PROTONS)
GRID = L.ObserverGrid.build(Cylindrical(), rate=0.03, n_panels=4, n_phi=16)
TABLE_E = np.array([1e3, 1e4, 1e5])


def _n_grad_D():
    n = np.array([[1.0, 2.0], [0.5, 0.1]])
    return dict(n=n, grad=np.full((2, 2, 3), 1e-3), D=np.full((2, 2), 0.05))


# (label, function, valid keyword arguments, {argument: (kinds, wrong-shape value or None)})
SPECS = [
    ("PowerLawDiffusion", Dm.PowerLawDiffusion, dict(D0=0.01, delta=0.3, R0=1.0),
     {"D0": ("nigcto", None), "delta": ("nigcto", None), "R0": ("nigcto", None)}),
    ("BADiffusion", Dm.BADiffusion, dict(delta=0.4, H=4.0, D28=3.0),
     {"delta": ("nigcto", None), "H": ("nigcto", None), "D28": ("nigct", None)}),
    ("SHDiffusion", Dm.SHDiffusion, dict(D0=0.01, p=0.3),
     {"D0": ("nigcto", None), "p": ("nigcto", None)}),
    ("KneeBreak", Dm.KneeBreak, dict(base=PL, B=muG),
     {"base": ("tom", None), "B": ("nigcto", None)}),
    ("PowerLawDiffusion.D", PL.D, dict(E=np.array([1e3, 1e4]), Z=1.0),
     {"E": ("nigcto", None), "Z": ("nigcto", np.ones(3))}),
    ("BADiffusion.D", Dm.BADiffusion(1 / 3, 4.0).D, dict(E=np.array([1e3, 1e4]), Z=1.0),
     {"E": ("nigcto", None), "Z": ("nigcto", np.ones(3))}),
    ("KneeBreak.D", Dm.KneeBreak(PL).D, dict(E=np.array([1e3, 1e4]), Z=1.0),
     {"E": ("nigcto", None), "Z": ("nigcto", np.ones(3))}),
    ("transition_energy", Dm.transition_energy, dict(model=PL, Z=1.0, B=muG),
     {"model": ("tom", None), "Z": ("nigcto", None), "B": ("nigct", None)}),
    ("larmor_radius", Dm.larmor_radius, dict(E=np.array([1e3, 1e4]), Z=1.0, B=muG),
     {"E": ("nigcto", None), "Z": ("nigcto", np.ones(3)), "B": ("nigcto", None)}),
    ("mean_free_path", Dm.mean_free_path, dict(model=PL, E=np.array([1e3, 1e4]), Z=1.0),
     {"model": ("tom", None), "E": ("nigcto", None), "Z": ("nigcto", np.ones(3))}),
    ("escape_time", Dm.escape_time,
     dict(E=np.array([1e3, 1e4]), Z=1.0, T_ST=1e-3, E_M_p=3e6, E0=1.0, tau_SNR=0.03),
     {"E": ("nigcto", None), "Z": ("nigcto", np.ones(3)), "T_ST": ("nigcto", None),
      "E_M_p": ("nigcto", None), "E0": ("nigcto", None), "tau_SNR": ("nigcto", None)}),
    # anisotropy
    ("dipole", A.dipole, _n_grad_D(),
     {"n": ("nigcto", np.ones((2, 3))), "grad": ("nicto", np.ones((2, 2, 2))),
      "D": ("nigcto", np.ones((2, 3)))}),
    ("dipole_single", A.dipole_single, dict(n=np.ones(2), grad=np.full((2, 3), 1e-3), D=0.05),
     {"n": ("nigcto", np.ones(3)), "grad": ("nicto", np.ones((2, 2))), "D": ("nigcto", np.ones(3))}),
    ("amplitude", A.amplitude, dict(delta=V3), {"delta": ("nicto", np.ones((2, 2)))}),
    ("phase_max_intensity", A.phase_max_intensity, dict(delta=V3), {"delta": ("nicto", np.ones(4))}),
    ("phase_streaming", A.phase_streaming, dict(delta=V3), {"delta": ("nicto", np.ones(4))}),
    ("phase_ba", A.phase_ba, dict(delta=V3), {"delta": ("nicto", np.ones(4))}),
    ("angle_between", A.angle_between, dict(a=V3, b=V3[::-1]),
     {"a": ("nicto", np.ones((3, 3))), "b": ("nicto", np.ones((2, 2)))}),
    # observable
    ("galactocentric_to_galactic", O.galactocentric_to_galactic, dict(vec=V3),
     {"vec": ("icto", np.ones(2))}),
    ("galactic_to_galactocentric", O.galactic_to_galactocentric, dict(vec=V3),
     {"vec": ("icto", np.ones(2))}),
    ("galactocentric_to_equatorial", O.galactocentric_to_equatorial, dict(delta=V3),
     {"delta": ("icto", np.ones(2))}),
    ("radec", O.radec, dict(vec_eq=V3), {"vec_eq": ("icto", np.ones(2))}),
    ("equatorial_projection", O.equatorial_projection, dict(delta=V3), {"delta": ("icto", np.ones(2))}),
    ("first_harmonic", O.first_harmonic, dict(delta=V3), {"delta": ("icto", np.ones(2))}),
    ("direction_from_lb", O.direction_from_lb, dict(l_deg=np.array([10.0, 20.0]), b_deg=5.0, amplitude=1.0),
     {"l_deg": ("nicto", None), "b_deg": ("nicto", np.ones(3)), "amplitude": ("nigcto", np.ones(3))}),
    ("band_factor", O.band_factor, dict(dec_min=-10.0, dec_max=np.array([20.0, 30.0])),
     {"dec_min": ("nicto", np.zeros(3)), "dec_max": ("nicto", None)}),
    ("first_harmonic_band", O.first_harmonic_band, dict(delta=V3, dec_min=-10.0, dec_max=40.0),
     {"delta": ("icto", np.ones(2)), "dec_min": ("nicto", None), "dec_max": ("nicto", None)}),
    ("distance_to_data", O.distance_to_data, dict(E=TABLE_E, amplitudes=np.full((2, 3), 1e-3)),
     {"E": ("nigcto", np.ones((2, 2))), "amplitudes": ("nigcto", np.ones((2, 4))),
      "rel_floor": ("nigct", None), "upper_limit_sigma": ("nigct", None)}),
    ("fraction_at_least_as_close", O.fraction_at_least_as_close,
     dict(distances=np.array([1.0, 2.0]), benchmark=1.5),
     {"distances": ("nigcto", np.ones((2, 2))), "benchmark": ("nigcto", None)}),
    # largescale
    ("green_time_integral", L.green_time_integral, dict(rho=np.array([0.5, 3.0]), D=0.05, H=4.0, gamma=0.0),
     {"rho": ("nigcto", None), "D": ("nigcto", np.ones(2)), "H": ("nigcto", np.ones(2)),
      "gamma": ("nigcto", np.ones(2))}),
    ("t_min", L.t_min, dict(sigma_sun=0.01, D=0.05), {"sigma_sun": ("nigcto", np.ones(2)), "D": ("nigcto", None)}),
    ("rate_density", L.rate_density, dict(sources=Cylindrical(), rate=0.03),
     {"sources": ("tom", None), "rate": ("nigct", None)}),
    ("ObserverGrid.build", L.ObserverGrid.build, dict(sources=Cylindrical(), rate=0.03, n_panels=2, n_phi=8),
     {"rate": ("nigct", None), "observer": ("nicto", np.ones(3)), "rho_min": ("nigcto", None),
      "rho_max": ("nicto", None), "n_panels": ("nigcto", None), "n_phi": ("nigcto", None)}),
    ("mean_density", L.mean_density, dict(sources=GRID, D=np.array([0.05, 0.1]), H=4.0, gamma=0.0),
     {"D": ("nigcto", None), "H": ("nigcto", np.ones(2)), "gamma": ("nigcto", np.ones(3))}),
    ("mean_density(model)", L.mean_density,
     dict(sources=Cylindrical(), rate=0.03, D=0.05, H=4.0, grid_kw=dict(n_panels=2, n_phi=8)),
     {"grid_kw": ("t", None), "rate": ("nigct", None)}),
    ("mean_current", L.mean_current, dict(sources=GRID, D=np.array([0.05, 0.1]), H=4.0),
     {"D": ("nigcto", None), "H": ("nigcto", np.ones(2)), "gamma": ("nigct", np.ones(3))}),
    ("current_fluctuation", L.current_fluctuation, dict(sources=GRID, D=np.array([0.05, 0.1]), H=4.0, T_min=0.5),
     {"D": ("nigcto", None), "H": ("nigcto", np.ones(2)), "T_min": ("nigct", np.ones(3))}),
    ("decomposition", L.decomposition, dict(E=np.array([1e3, 1e4]), diffusion=PL, H=4.0, sources=GRID),
     {"E": ("nigcto", None), "diffusion": ("to", None), "H": ("nigcto", np.ones(2)),
      "Z": ("nigcto", np.ones(2)), "gamma": ("nigct", np.ones(3))}),
    # species
    ("Species", S.Species, dict(name="H", Z=1, A=1, elements=(14,)),
     {"Z": ("nigcto", np.ones(2)), "A": ("nigcto", None), "elements": ("t", None)}),
    ("spallation_rate", S.spallation_rate, dict(species=S.PROTONS[0], H=4.0, n_disk=1e3, h_gas=0.15),
     {"species": ("tom", None), "H": ("nigcto", np.ones(2)), "n_disk": ("nigcto", np.ones(2)),
      "h_gas": ("nigcto", np.ones(2))}),
    ("injection_shape", S.injection_shape, dict(E=np.array([1e3, 1e4]), species=S.PROTONS[0], gamma=2.3),
     {"E": ("nigcto", None), "species": ("tom", None), "gamma": ("nicto", np.ones(2)),
      "E_max_p": ("nigcto", np.ones(2))}),
    ("disk_density_factor", S.disk_density_factor, dict(D=np.array([0.05, 0.1]), H=4.0, Gamma=0.01),
     {"D": ("nigcto", None), "H": ("nigcto", np.ones(2)), "Gamma": ("nigcto", np.ones(3))}),
    ("measured_flux", S.PROTONS[0].measured_flux, dict(E=np.array([1e3, 1e4])), {"E": ("nigcto", None)}),
    ("normalise_injection", S.normalise_injection,
     dict(species=S.PROTONS, D_ref=np.array([0.1]), H=4.0, local_rate=0.03, gamma=2.3),
     {"species": ("to", None), "D_ref": ("nigcto", np.ones(2)), "H": ("nigcto", None),
      "local_rate": ("nigcto", np.ones(2)), "gamma": ("nicto", None)}),
    # ensemble
    ("Scenario", ens.Scenario, SC,
     {"rate": ("nigcto", np.ones(2)), "T": ("nigcto", np.ones(2)), "H": ("nigcto", np.ones(2)),
      "diffusion": ("tom", None), "energies": ("nigcto", np.ones((2, 2))),
      "injection_index": ("nicto", np.ones(2)), "tau_snr": ("nigct", np.ones(2)),
      "E_max_p": ("nigcto", np.ones(2)), "tol": ("nigcto", np.ones(2)), "near_radius": ("nigct", None)}),
    ("mean_direction", ens.mean_direction, dict(delta=V3[None]), {"delta": ("icto", np.ones((2, 3)))}),
]


def _bad_values(valid, kinds, wrong_shape):
    v = np.asarray(valid) if not callable(getattr(valid, "D", None)) else None
    for k in kinds:
        if k == "s":
            yield k, wrong_shape
        elif k in "nigc" and v is not None:
            a = np.array(v, dtype=float)
            if k == "n":
                a.flat[0] = np.nan
            elif k == "i":
                a.flat[0] = np.inf
            elif k == "g":
                a = -np.abs(a) - 1.0
            yield k, (a + 1e-3j) if k == "c" else (a if a.ndim else float(a) if k != "c" else a)
        elif k == "t":
            yield k, "abc"
        elif k == "o":
            yield k, None
        elif k == "m":
            yield k, object()


def _cases():
    for label, func, kw, args in SPECS:
        for name, (kinds, wrong_shape) in args.items():
            kinds = kinds + ("s" if wrong_shape is not None else "")
            valid = kw.get(name, 1.0 if name not in ("grid_kw",) else None)
            for kind, bad in _bad_values(valid, kinds, wrong_shape):
                yield pytest.param(func, kw, name, bad, id=f"{label}-{name}-{kind}")


CASES = list(_cases())


@pytest.mark.parametrize("label, func, kw", [(s[0], s[1], s[2]) for s in SPECS], ids=[s[0] for s in SPECS])
def test_valid_call_succeeds(label, func, kw):
    func(**kw)                              # the sweep's base calls are valid


@pytest.mark.parametrize("func, kw, name, bad", CASES)
def test_bad_input_gives_a_named_value_error(func, kw, name, bad):
    with pytest.raises(ValueError) as err:
        func(**{**kw, name: bad})
    msg = str(err.value)
    assert re.search(rf"(^|[^A-Za-z0-9_]){re.escape(name)}($|[^A-Za-z0-9_])", msg), msg


def test_sweep_size():
    assert len(CASES) > 300
