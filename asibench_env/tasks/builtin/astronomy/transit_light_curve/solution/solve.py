"""Reference solver for astronomy.transit_light_curve.

1. Detrend: a running median over 0.75 d (longer than a transit, shorter than the rotation), after
   clipping the positive flares.
2. Box least squares over a fine frequency grid and a few durations finds the period; a first
   trapezoid fit refines it.
3. Detrend again with the in-transit points masked (so the dips do not pull the baseline down), then fit
   period, mid-time, depth and duration of a trapezoid with a robust loss.
4. Predict the dimming at the requested (future) times from the fitted ephemeris and shape.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

INGRESS = 0.15
rows = np.genfromtxt("data/light_curve.csv", delimiter=",", names=True)
t, f = rows["time_d"], rows["flux"]
eval_times = np.load("data/eval_times.npy")


def running_median(t, f, window, mask=None):
    keep = np.ones_like(f, bool) if mask is None else mask
    tk, fk = t[keep], f[keep]
    lo = np.searchsorted(tk, t - window / 2)
    hi = np.searchsorted(tk, t + window / 2)
    return np.array([np.median(fk[a:b]) if b > a else np.nan for a, b in zip(lo, hi)])


def dimming(t, period, t0, depth, duration):
    x = np.abs((t - t0 + 0.5 * period) % period - 0.5 * period)
    ingress, half = INGRESS * duration, 0.5 * duration
    out = np.where(x <= half - ingress, depth, 0.0)
    return np.where((x > half - ingress) & (x < half), depth * (half - x) / ingress, out)


def clean(t, f, mask=None):
    base = running_median(t, f, 0.75, mask)
    base = np.where(np.isfinite(base), base, np.interp(t, t[np.isfinite(base)], base[np.isfinite(base)]))
    rel = f / base - 1.0
    mad = 1.4826 * np.median(np.abs(rel - np.median(rel)))
    return rel, rel < 4 * mad  # drop positive flares


def bls(t, rel, good):
    tt, yy = t[good], rel[good] - np.mean(rel[good])
    span = tt.max() - tt.min()
    freqs = np.arange(1 / 6.0, 1 / 1.0, 0.02 / span / 8)
    best = (-np.inf, None)
    for freq in freqs:
        phase = (tt * freq) % 1.0
        bins = np.bincount((phase * 400).astype(int), weights=yy, minlength=400)
        counts = np.bincount((phase * 400).astype(int), minlength=400)
        for width in (5, 9, 14):
            s = np.convolve(np.concatenate([bins, bins[:width]]), np.ones(width), "valid")[:400]
            c = np.convolve(np.concatenate([counts, counts[:width]]), np.ones(width), "valid")[:400]
            power = np.where(c > 0, s**2 / np.maximum(c, 1), 0) * (s < 0)
            k = int(np.argmax(power))
            if power[k] > best[0]:
                best = (power[k], (1 / freq, ((k + width / 2) / 400) / freq, width / 400 / freq))
    return best[1]


def fit(t, rel, good, guess):
    period, t0, duration = guess
    depth0 = max(1e-4, -np.median(rel[good & (dimming(t, period, t0, 1.0, duration) > 0.9)]))
    x0 = [period, t0, depth0, duration]

    def resid(p):
        return rel[good] + dimming(t[good], *p)

    return least_squares(resid, x0, loss="soft_l1", f_scale=3 * np.std(rel[good]), x_scale=[1e-3, 1e-3, 1e-3, 1e-2]).x


rel, good = clean(t, f)
period, t0, duration = bls(t, rel, good)
p = fit(t, rel, good, (period, t0, duration))
for _ in range(2):
    in_transit = dimming(t, p[0], p[1], 1.0, 1.6 * p[3]) > 0
    rel, good = clean(t, f, mask=~in_transit)
    p = fit(t, rel, good, (p[0], p[1], p[3]))
period, t0, depth, duration = p
t0 = t0 - period * np.floor(t0 / period)  # the first mid-transit at or after t = 0
np.save("parameters.npy", np.array([period, t0, depth, duration], dtype=np.float64))
np.save("dimming.npy", dimming(eval_times, period, t0, depth, duration).astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
