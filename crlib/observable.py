r"""From a model dipole to what a cosmic-ray detector reports, and how close it is to the data.

A model gives the 3D dipole vector :math:`\vec\delta` (:ref:`model-anisotropy`,
:math:`\vec\delta = (3D/c)\,\nabla n/n`); it points to the direction of
*maximum intensity* on the sky as seen from the Sun, i.e. along
:math:`+\nabla n`.  This module

1. rotates :math:`\vec\delta` from crlib's Galactocentric frame to equatorial
   (ICRS) coordinates (:func:`galactocentric_to_equatorial`),
2. returns the first harmonic in right ascension that a ground array reports
   (:func:`first_harmonic`, :func:`first_harmonic_band`),
3. compares ensembles of model amplitudes with the measured ones
   (:func:`distance_to_data`, :func:`fraction_at_least_as_close`).

Frames and the sign of :math:`\hat y`
-------------------------------------
crlib's Galactocentric frame (:mod:`crlib.galaxy`) has the Galactic centre at
the origin, the Sun at :math:`(R_\odot, 0, 0)` and :math:`\hat z` towards the
north Galactic pole (NGP).  Only directions matter here, so a vector is
re-read as a direction seen from the Sun:

* :math:`-\hat x` points from the Sun to the Galactic centre: :math:`l = 0^\circ, b = 0^\circ`;
* :math:`+\hat z` is the NGP, :math:`b = +90^\circ`;
* the frame is right-handed, so :math:`\hat y = \hat z \times \hat x`.
  In the usual heliocentric Galactic axes :math:`(\hat X_G, \hat Y_G, \hat Z_G)`
  towards :math:`l = 0^\circ`, :math:`l = 90^\circ` and the NGP (also right-handed,
  :math:`\hat Z_G \times \hat X_G = \hat Y_G`) one has :math:`\hat x = -\hat X_G`,
  :math:`\hat z = \hat Z_G`, hence
  :math:`\hat y = \hat Z_G \times (-\hat X_G) = -\hat Y_G`:
  **+ŷ points towards Galactic longitude l = 270°** (and the direction of
  Galactic rotation at the Sun, l = 90°, is −ŷ).

So crlib -> Galactic Cartesian is a rotation by 180° about :math:`\hat z`:
:math:`(X_G, Y_G, Z_G) = (-x, -y, z)`, and Galactic -> ICRS is taken from
astropy (imported lazily; the 3x3 matrix is computed once).

Equatorial Cartesian axes used below: :math:`\hat e_x` towards RA = 0, Dec = 0;
:math:`\hat e_y` towards RA = 90°, Dec = 0; :math:`\hat e_z` towards the north
celestial pole.

What a ground array measures
----------------------------
For an intensity :math:`I(\hat n) \propto 1 + \vec\delta\cdot\hat n`, in
equatorial coordinates (RA :math:`\alpha`, declination :math:`\delta`)

.. math::

   \vec\delta\cdot\hat n = \delta_\perp \cos\delta\,\cos(\alpha - \alpha_0) + \delta_z \sin\delta ,

with :math:`\delta_\perp = \sqrt{\delta_x^2 + \delta_y^2}` the *equatorial
projection* and :math:`\alpha_0 = \operatorname{atan2}(\delta_y, \delta_x)`.
A detector at fixed latitude sweeps the sky in right ascension with the
Earth's rotation and, after the time-dependent systematics are removed,
sees the same exposure at every RA.  The :math:`\delta_z` term is the same at
every RA and is absorbed in the normalization: a dipole along the celestial
pole produces no RA modulation at all.

Declination band (reduction factor).  Assume an exposure per unit solid angle
that is uniform in RA and depends on declination as :math:`\omega(\delta)`.
The counts per RA bin are
:math:`\int \omega(\delta)\cos\delta\,[1 + \delta_\perp\cos\delta\cos(\alpha-\alpha_0)
+ \delta_z\sin\delta]\,d\delta`, so the relative first-harmonic amplitude is,
to first order in :math:`|\vec\delta|`,

.. math::

   r = f\,\delta_\perp, \qquad
   f = \frac{\int \omega(\delta)\cos^2\delta\,d\delta}{\int \omega(\delta)\cos\delta\,d\delta}.

For the default assumption, :math:`\omega = 1` for
:math:`\delta_1 \le \delta \le \delta_2` and 0 elsewhere,

.. math::

   f(\delta_1, \delta_2) = \frac{(\delta_2 - \delta_1)/2 + (\sin 2\delta_2 - \sin 2\delta_1)/4}
                                {\sin\delta_2 - \sin\delta_1},

which tends to :math:`\cos\delta_0` for a thin band at :math:`\delta_0` and equals
:math:`\pi/4` for the full sky.  Experiments that quote the reconstructed
equatorial dipole (Auger, the HAWC+IceCube fit) divide this factor out;
those that quote the raw RA harmonic of the relative intensity (most
underground and air-shower arrays) do not.  :func:`first_harmonic` returns the
former ("ideal" array, :math:`f = 1`), :func:`first_harmonic_band` the latter.
"""

from functools import lru_cache

import numpy as np

from . import _validate as V

__all__ = [
    "GALACTOCENTRIC_TO_GALACTIC",
    "galactocentric_to_galactic",
    "galactic_to_galactocentric",
    "direction_from_lb",
    "galactocentric_to_equatorial",
    "radec",
    "equatorial_projection",
    "first_harmonic",
    "band_factor",
    "first_harmonic_band",
    "select_data",
    "distance_to_data",
    "fraction_at_least_as_close",
]

#: crlib Galactocentric axes -> heliocentric Galactic Cartesian axes (X_G to l=0,
#: Y_G to l=90 deg, Z_G to the NGP): a 180 deg rotation about z.
GALACTOCENTRIC_TO_GALACTIC = np.diag([-1.0, -1.0, 1.0])


def _vectors(name, value):
    # real, finite, last axis 3; an all-NaN vector (a dipole where no particle arrives,
    # see crlib.anisotropy) passes through as NaN
    return V.vectors(name, value, allow_nan=True)


def _wrap360(deg):
    """Angle in degrees reduced to [0, 360): ``x % 360`` alone rounds tiny negative x to 360."""
    r = np.mod(deg, 360.0)
    return np.where(r >= 360.0, 0.0, r)


@lru_cache(maxsize=1)
def _galactic_to_icrs():
    """3x3 matrix taking Galactic Cartesian (X_G, Y_G, Z_G) to ICRS Cartesian, from astropy."""
    try:
        import astropy.units as u
        from astropy.coordinates import SkyCoord
    except ImportError as exc:  # pragma: no cover - astropy is in the book's environment
        raise ImportError("crlib.observable needs astropy for the Galactic -> ICRS rotation") from exc
    basis = SkyCoord(l=[0.0, 90.0, 0.0] * u.deg, b=[0.0, 0.0, 90.0] * u.deg, frame="galactic")
    m = np.asarray(basis.icrs.cartesian.xyz.value, dtype=np.float64)  # column j = image of axis j
    # re-orthonormalise (astropy's chain is orthogonal to ~1e-16; this removes round-off)
    uu, _, vt = np.linalg.svd(m)
    m = uu @ vt
    m.flags.writeable = False
    return m


def galactocentric_to_galactic(vec):
    """crlib Galactocentric direction(s) -> heliocentric Galactic Cartesian (X_G, Y_G, Z_G).

    Parameters
    ----------
    vec : array_like, shape (..., 3)
        Vectors in crlib's Galactocentric axes (any length unit, or dimensionless).

    Returns
    -------
    ndarray, shape (..., 3)
        Same vectors with X_G towards l = 0, Y_G towards l = 90 deg, Z_G to the NGP.
    """
    v = _vectors("vec", vec)
    return v @ GALACTOCENTRIC_TO_GALACTIC.T


def galactic_to_galactocentric(vec):
    """Inverse of :func:`galactocentric_to_galactic` (the same matrix: it is its own inverse)."""
    v = _vectors("vec", vec)
    return v @ GALACTOCENTRIC_TO_GALACTIC.T


def direction_from_lb(l_deg, b_deg, amplitude=1.0):
    """Vector of length ``amplitude`` towards Galactic (l, b), in crlib's Galactocentric axes.

    Parameters
    ----------
    l_deg, b_deg : array_like
        Galactic longitude and latitude in degrees (b in [-90, 90]); broadcast.
    amplitude : array_like
        Length of the vector (>= 0), e.g. a dipole amplitude.

    Returns
    -------
    ndarray, shape (broadcast shape, 3)
        ``(-cos b cos l, -cos b sin l, sin b) * amplitude``.
    """
    l = np.radians(V.as_float_array("l_deg", l_deg))
    b = np.radians(V.in_closed_interval("b_deg", b_deg, -90.0, 90.0))
    a = V.non_negative("amplitude", amplitude)
    l, b, a = V.broadcast(l_deg=l, b_deg=b, amplitude=a)
    cb = np.cos(b)
    gal = np.stack(np.broadcast_arrays(cb * np.cos(l), cb * np.sin(l), np.sin(b)), axis=-1)
    return galactic_to_galactocentric(gal) * np.asarray(a)[..., None]


def galactocentric_to_equatorial(delta):
    """Rotate vector(s) from crlib's Galactocentric axes to equatorial (ICRS) Cartesian axes.

    Parameters
    ----------
    delta : array_like, shape (..., 3)
        E.g. dipole vectors for many realizations and energies, shape (n_real, n_E, 3).

    Returns
    -------
    ndarray, shape (..., 3)
        Components along RA = 0 / RA = 90 deg on the celestial equator and the
        north celestial pole.  Lengths are preserved (a pure rotation).
    """
    d = _vectors("delta", delta)
    m = _galactic_to_icrs() @ GALACTOCENTRIC_TO_GALACTIC
    return d @ m.T


def radec(vec_eq):
    """Right ascension and declination (degrees) of equatorial Cartesian vector(s).

    Returns
    -------
    ra : ndarray
        In [0, 360).
    dec : ndarray
        In [-90, 90].  Zero vectors give (0, 0).
    """
    v = _vectors("vec_eq", vec_eq)
    ra = _wrap360(np.degrees(np.arctan2(v[..., 1], v[..., 0])))
    dec = np.degrees(np.arctan2(v[..., 2], np.hypot(v[..., 0], v[..., 1])))
    return ra, dec


def equatorial_projection(delta):
    """Component of the dipole(s) in the celestial equatorial plane.

    Parameters
    ----------
    delta : array_like, shape (..., 3)
        Dipole vector(s) in crlib's Galactocentric axes.

    Returns
    -------
    ndarray, shape (..., 3)
        Equatorial Cartesian vector with its z (celestial-pole) component set to 0.
    """
    eq = galactocentric_to_equatorial(delta)
    eq[..., 2] = 0.0
    return eq


def first_harmonic(delta):
    """Amplitude and RA phase an ideal ground array reports for dipole(s) ``delta``.

    The ideal array has full sky coverage and corrects for its declination
    response, so it reports the equatorial projection itself (reduction factor
    f = 1, see the module docstring).

    Parameters
    ----------
    delta : array_like, shape (..., 3)
        Dipole vector(s) in crlib's Galactocentric axes (dimensionless).

    Returns
    -------
    amplitude : ndarray, shape (...)
        :math:`\\delta_\\perp = \\sqrt{\\delta_x^2 + \\delta_y^2}` in equatorial axes.
    phase_deg : ndarray, shape (...)
        Right ascension of the maximum, degrees in [0, 360).
    """
    eq = galactocentric_to_equatorial(delta)
    amp = np.hypot(eq[..., 0], eq[..., 1])
    phase = _wrap360(np.degrees(np.arctan2(eq[..., 1], eq[..., 0])))
    return amp, phase


def _band(dec_min, dec_max):
    lo = V.in_closed_interval("dec_min", dec_min, -90.0, 90.0)
    hi = V.in_closed_interval("dec_max", dec_max, -90.0, 90.0)
    lo, hi = V.broadcast(dec_min=np.asarray(lo, float), dec_max=np.asarray(hi, float))
    if np.any(hi <= lo):
        raise ValueError(f"dec_max must be > dec_min, got dec_min={lo!r}, dec_max={hi!r}")
    return np.radians(lo), np.radians(hi)


def band_factor(dec_min, dec_max):
    """Reduction factor f of the RA first harmonic for a declination band (uniform exposure).

    Parameters
    ----------
    dec_min, dec_max : array_like
        Band edges in degrees, -90 <= dec_min < dec_max <= 90 (broadcast).

    Returns
    -------
    ndarray or float
        :math:`f = [(\\delta_2-\\delta_1)/2 + (\\sin 2\\delta_2-\\sin 2\\delta_1)/4]
        / (\\sin\\delta_2-\\sin\\delta_1)`, the cos-squared-weighted over the
        cos-weighted integral (module docstring).  pi/4 for the full sky;
        tends to cos(dec) for a thin band.
    """
    d1, d2 = _band(dec_min, dec_max)
    num = 0.5 * (d2 - d1) + 0.25 * (np.sin(2 * d2) - np.sin(2 * d1))
    den = np.sin(d2) - np.sin(d1)
    # thin-band limit: both -> (d2 - d1) cos(d0); use the series when den is tiny
    thin = np.abs(d2 - d1) < 1e-6
    d0 = 0.5 * (d1 + d2)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(thin, np.cos(d0), num / np.where(thin, 1.0, den))
    return float(f) if f.ndim == 0 else f


def first_harmonic_band(delta, dec_min, dec_max):
    """Raw RA first harmonic seen by an array whose exposure covers a declination band.

    Exposure assumption: uniform per unit solid angle for dec_min <= dec <= dec_max,
    zero elsewhere; result to first order in ``|delta|``.

    Parameters
    ----------
    delta : array_like, shape (..., 3)
        Dipole vector(s) in crlib's Galactocentric axes.
    dec_min, dec_max : float
        Declination band in degrees.

    Returns
    -------
    amplitude : ndarray
        ``band_factor(dec_min, dec_max) * delta_perp``.
    phase_deg : ndarray
        RA phase in degrees; unchanged by the band.
    """
    f = band_factor(dec_min, dec_max)
    amp, phase = first_harmonic(delta)
    return f * amp, phase


# --------------------------------------------------------------------------
# comparison with the measurements
# --------------------------------------------------------------------------

def select_data(E_range=None, detector_types=None, experiments=None, table=None):
    """Rows of the amplitude table used by :func:`distance_to_data` (rows flagged
    ``duplicate`` are always dropped).

    A thin call of :func:`crlib.data.select` (the one data selection) with
    ``E_range = (emin, emax)``.

    Parameters
    ----------
    E_range : (float, float) or None
        Energy interval in GeV (inclusive); None keeps everything.
    detector_types : sequence of str or None
        Subset of :data:`crlib.data.DETECTOR_TYPES`.
    experiments : sequence of str or None
        Experiment names as in the table.
    table : structured array or None
        Defaults to :func:`crlib.data.load_amplitudes`.

    Returns
    -------
    structured array
    """
    from .data import select

    lo = hi = None
    if E_range is not None:
        if np.size(E_range) != 2:
            raise ValueError(f"E_range must be a pair (E_min, E_max) in GeV, got {E_range!r}")
        lo, hi = (V.positive("E_range", x) for x in E_range)
        if hi <= lo:
            raise ValueError(f"E_range must have E_min < E_max, got {E_range!r}")
    return select(table, emin=lo, emax=hi, detector_types=detector_types, upper_limits=True,
                  duplicates=False, experiments=experiments)


def distance_to_data(E, amplitudes, E_range=None, detector_types=None, experiments=None,
                     rel_floor=0.05, upper_limit_sigma=0.25, dec_band=None, table=None):
    r"""Chi-square-like distance between model amplitudes and the measured ones.

    Definition.  Let :math:`i` run over the measured points selected by
    ``E_range``/``detector_types``/``experiments`` whose energy lies inside the
    model grid (no extrapolation), :math:`A_i` the measured amplitude and
    :math:`\hat A(E_i)` the model interpolated linearly in
    :math:`(\ln E, \ln A)`.  Then

    .. math::

       d^2 = \sum_{i\,\in\,\text{measured}} \left(\frac{\ln\hat A(E_i) - \ln A_i}{\sigma_i}\right)^2
           + \sum_{j\,\in\,\text{upper limits}} \Theta(\hat A_j - U_j)
             \left(\frac{\ln\hat A(E_j) - \ln U_j}{\sigma_{\rm UL}}\right)^2 ,

    with :math:`\sigma_i^2 = (s_i/A_i)^2 + \epsilon^2`, :math:`s_i` the
    statistical and systematic errors added in quadrature on the side of the
    data point that faces the model (upper error if the model is above), and
    :math:`\epsilon` = ``rel_floor`` (reading precision; also keeps points with
    no quoted error finite).  An upper limit costs nothing unless exceeded.

    The model amplitude should be the *observable* one (e.g. from
    :func:`first_harmonic` or :func:`first_harmonic_band`), not :math:`|\vec\delta|`.
    Passing the dipole *vectors* instead (last axis of length 3) does the
    projection here: ideal array, or the band ``dec_band`` if given.

    Parameters
    ----------
    E : array_like, shape (n_E,)
        Model energies in GeV, strictly increasing, > 0.
    amplitudes : array_like, shape (n_realizations, n_E) or (n_E,)
        Model observable amplitudes, > 0; or dipole vectors in crlib's
        Galactocentric axes, shape (n_realizations, n_E, 3) or (n_E, 3).
    E_range, detector_types, experiments
        Data selection, see :func:`select_data`.
    rel_floor : float
        :math:`\epsilon`, >= 0 (default 0.05).
    upper_limit_sigma : float
        :math:`\sigma_{\rm UL}` in natural-log units, > 0 (default 0.25).
    dec_band : (float, float), optional
        Declination band in degrees used to project dipole vectors
        (:func:`first_harmonic_band`); ignored for amplitude input.
    table : structured array, optional
        Measurements in the format of :func:`crlib.data.load_amplitudes`
        (default: that table).

    Returns
    -------
    ndarray, shape (n_realizations,)  (a float for 1-d ``amplitudes``)
        :math:`d^2` per realization.

    Raises
    ------
    ValueError
        Bad input, or no measured point inside the model's energy grid.
    """
    E = V.positive("E", E)
    if np.ndim(E) != 1 or np.size(E) < 2:
        raise ValueError(f"E must be a 1-d array of at least 2 energies, got shape {np.shape(E)}")
    if np.any(np.diff(E) <= 0):
        raise ValueError("E must be strictly increasing")
    A = V.as_float_array("amplitudes", amplitudes)
    vectors = (A.ndim == 3 and A.shape[-1] == 3) or (A.ndim == 2 and A.shape == (E.size, 3) and E.size != 3)
    if vectors:  # dipole vectors -> observable amplitude (a zero projection is rejected below)
        A = (first_harmonic(A) if dec_band is None else first_harmonic_band(A, *dec_band))[0]
    A = V.positive("amplitudes", A)
    one = np.ndim(A) == 1
    A = np.atleast_2d(A)
    if A.ndim != 2 or A.shape[1] != E.size:
        raise ValueError(f"amplitudes must have shape (n_realizations, {E.size}), got {np.shape(amplitudes)}")
    rel_floor = V.non_negative("rel_floor", V.as_float("rel_floor", rel_floor))
    ul_sigma = V.positive("upper_limit_sigma", V.as_float("upper_limit_sigma", upper_limit_sigma))

    t = select_data(E_range, detector_types, experiments, table=table)
    t = t[(t["E_GeV"] >= E[0]) & (t["E_GeV"] <= E[-1])]
    if len(t) == 0:
        raise ValueError(f"E_range selects no measured point inside the model grid "
                         f"[{E[0]:.3g}, {E[-1]:.3g}] GeV (E_range={E_range!r})")

    # linear interpolation in (ln E, ln A), vectorised over realizations
    x, xd = np.log(E), np.log(t["E_GeV"])
    k = np.clip(np.searchsorted(x, xd, side="right") - 1, 0, x.size - 2)
    w = (xd - x[k]) / (x[k + 1] - x[k])
    lnA = np.log(A)
    model = (1.0 - w) * lnA[:, k] + w * lnA[:, k + 1]  # (n_real, n_pts)

    data = np.log(t["amplitude"])
    resid = model - data
    ul = t["upper_limit"]
    err = {c: np.nan_to_num(t[c]) for c in ("stat_lo", "stat_hi", "sys_lo", "sys_hi")}
    s_hi = np.hypot(err["stat_hi"], err["sys_hi"]) / t["amplitude"]
    s_lo = np.hypot(err["stat_lo"], err["sys_lo"]) / t["amplitude"]
    sig = np.sqrt(np.where(resid > 0, s_hi, s_lo) ** 2 + rel_floor**2)
    sig = np.where(ul, ul_sigma, sig)
    if np.any(sig <= 0):
        raise ValueError("rel_floor must be > 0 when some selected point has no quoted error")
    chi = resid / sig
    chi = np.where(ul & (resid <= 0), 0.0, chi)
    d2 = np.sum(chi**2, axis=1)
    return float(d2[0]) if one else d2


def fraction_at_least_as_close(distances, benchmark):
    """Fraction of realizations whose distance to the data is <= ``benchmark``.

    Parameters
    ----------
    distances : array_like, shape (n_realizations,)
        Output of :func:`distance_to_data` (>= 0).
    benchmark : float or array_like
        Reference distance(s), e.g. that of the ensemble mean or of a
        published model (>= 0).

    Returns
    -------
    float or ndarray
        Same shape as ``benchmark``.
    """
    d = V.non_negative("distances", distances)
    if np.ndim(d) != 1 or np.size(d) == 0:
        raise ValueError(f"distances must be a non-empty 1-d array, got shape {np.shape(distances)}")
    b = V.non_negative("benchmark", benchmark)
    frac = np.mean(d[:, None] <= np.ravel(b)[None, :], axis=0)
    return float(frac[0]) if np.ndim(b) == 0 else frac.reshape(np.shape(b))
