"""Sampling cost of crlib.sources, normalised to a reference machine.

Prints the ``numpy.exp`` reference rate (float64 elements per second, best of
many runs interleaved with the measurements), then for each source model the
time to sample BA's history (``sample(model, 1/(30 yr), 80 Myr)``, about
2.7e6 sources) per 1e6 sources, and the time of ``sample_near`` for one
realization of SH's nominal scenario (``crlib.presets.sh_scenario()``).  Each
time is followed by its normalised value, seconds x rate / 1.5e9 (the time on
a machine doing 1.5e9 ``numpy.exp`` elements per second).  Times are the best
of ``--repeat`` runs; on a shared machine compare ratios from one run.

Run as ``python bench/sources.py [--repeat N]``.
"""

import argparse
import time

import numpy as np

from crlib import ensemble as ens
from crlib import sources as S
from crlib.presets import sh_scenario
from crlib.units import yr

REF = 1.5e9


def exp_rate(x, repeat=5):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.exp(x)
        best = min(best, time.perf_counter() - t0)
    return x.size / best


def best_time(f, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    args = ap.parse_args(argv)
    x = np.random.default_rng(0).random(4_000_000)
    rates = [exp_rate(x)]
    rate, T = 1.0 / (30.0 * yr), 80.0
    models = {"Cylindrical": S.Cylindrical(), "ExponentialDisk": S.ExponentialDisk(),
              "SpiralArms": S.SpiralArms(), "MovingSpiralArms": S.MovingSpiralArms()}
    out = {}
    for name, m in models.items():
        S.sample(m, rate, 1.0, 0)                     # compile / warm up
        rng = np.random.default_rng(1)
        n = len(S.sample(m, rate, T, 1))
        out[name] = best_time(lambda: S.sample(m, rate, T, rng), args.repeat) / (n / 1e6)
        rates.append(exp_rate(x))
    sc = sh_scenario()
    edges = ens._age_edges(sc, ens.channels(sc))
    S.sample_near(sc.sources, sc.rate, sc.T, 0, sc.near_radius, edges)
    seeds = iter(range(1, 10 ** 6))
    t_near = best_time(lambda: [S.sample_near(sc.sources, sc.rate, sc.T, next(seeds),
                                              sc.near_radius, edges) for _ in range(10)],
                       args.repeat) / 10
    rates.append(exp_rate(x))
    ref = max(rates)
    print(f"numpy.exp reference rate: {ref:.3e} elements/s")
    for name, t in out.items():
        print(f"BA {name}: {t:.4f} s per 1e6 sources (normalised {t * ref / REF:.4f} s)")
    print(f"SH sample_near: {t_near * 1e3:.2f} ms per realization "
          f"(normalised {t_near * ref / REF * 1e3:.2f} ms)")


if __name__ == "__main__":
    main()
