"""Internal unit system of crlib and the constants expressed in it.

Every quantity inside crlib is a plain float in the internal units of
:ref:`model-units`:

* length: kpc
* time: Myr
* energy: GeV (total energy per nucleus)

so a diffusion coefficient is in kpc^2/Myr and a rate in 1/Myr.  A user writes
a physical quantity as a number times a unit constant (``250 * pc``,
``6e26 * cm2_per_s``, ``1 / (30 * yr)``) and divides by a unit to read a
number back (``D / cm2_per_s``).  Every constant below is derived from
``scipy.constants``; none is typed in.
"""

from scipy import constants as _sc

# --- base units (the value 1 defines the internal unit) ---------------------
kpc = 1.0
Myr = 1.0
GeV = 1.0

# --- length ------------------------------------------------------------------
#: metre in kpc (1 pc = 648000/pi au, IAU 2015 B2)
m = kpc / (1e3 * _sc.parsec)
cm = 1e-2 * m
km = 1e3 * m
pc = 1e-3 * kpc
Mpc = 1e3 * kpc
au = _sc.astronomical_unit * m
ly = _sc.light_year * m

# --- time --------------------------------------------------------------------
#: second in Myr (Julian year of 365.25 days)
s = Myr / (1e6 * _sc.Julian_year)
yr = 1e-6 * Myr
kyr = 1e-3 * Myr
Gyr = 1e3 * Myr

# --- energy ------------------------------------------------------------------
eV = 1e-9 * GeV
keV = 1e-6 * GeV
MeV = 1e-3 * GeV
TeV = 1e3 * GeV
PeV = 1e6 * GeV
EeV = 1e9 * GeV
#: erg in GeV
erg = 1e-7 / _sc.electron_volt * eV
J = 1.0 / _sc.electron_volt * eV

# --- derived units -------------------------------------------------------------
cm2_per_s = cm**2 / s
km_per_s = km / s
km_per_s_per_kpc = km_per_s / kpc
cm3 = cm**3
per_cm3 = 1.0 / cm3
mb = 1e-27 * cm**2  # millibarn
barn = 1e3 * mb

# --- magnetic field ----------------------------------------------------------
#: gauss, expressed through the Larmor radius.  A particle of energy E and
#: charge number Z in a field B has r_L = E / (Z * e_charge * B).  We express B
#: in units such that e_charge * B is an energy per length (GeV/kpc).
#: In Gaussian units r_L = E / (Z e B) with E in erg, e in esu, B in G, r_L in
#: cm, so e * (1 G) = e_esu erg/cm.  In SI: r_L = E / (Z e c B) with B in tesla,
#: and 1 G = 1e-4 T; both give the same number (tested).
gauss = _sc.elementary_charge * _sc.c * 1e-4 * J / m  # e * (1 G), GeV per kpc
microgauss = 1e-6 * gauss
muG = microgauss

# --- physical constants --------------------------------------------------------
#: speed of light in kpc/Myr
c_light = _sc.c * m / s
#: elementary charge in the sense e*B -> GeV/kpc when B is in the units above.
#: Because ``gauss`` already carries the factor e, ``e_charge`` is 1: write
#: ``r_L = E / (Z * e_charge * B)`` with ``B = 1 * muG``.
e_charge = 1.0

__all__ = [
    "kpc", "Myr", "GeV", "m", "cm", "km", "pc", "Mpc", "au", "ly", "s", "yr",
    "kyr", "Gyr", "eV", "keV", "MeV", "TeV", "PeV", "EeV", "erg", "J",
    "cm2_per_s", "km_per_s", "km_per_s_per_kpc", "cm3", "per_cm3", "mb", "barn",
    "gauss", "microgauss", "muG", "c_light", "e_charge",
]
