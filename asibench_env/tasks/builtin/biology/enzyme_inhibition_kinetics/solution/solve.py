"""Reference solver for biology.enzyme_inhibition_kinetics.

Fit the competitive, uncompetitive and mixed laws to log rates (the noise is multiplicative) with a
robust loss, drop the gross outliers, refit, and choose the mode by BIC (the mixed law nests the other
two, so it must earn its extra parameter). Predict the query rates with the chosen law.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

data = np.genfromtxt("data/initial_rates.csv", delimiter=",", names=True)
query = np.genfromtxt("data/query_conditions.csv", delimiter=",", names=True)
S, I, V = data["substrate_um"], data["inhibitor_um"], data["rate_um_per_min"]


def law(p, s, i, mode):
    vmax, km, k1, k2 = np.exp(p[0]), np.exp(p[1]), np.exp(p[2]), np.exp(p[3]) if len(p) > 3 else None
    if mode == 1:
        return vmax * s / (km * (1 + i / k1) + s)
    if mode == 2:
        return vmax * s / (km + s * (1 + i / k1))
    return vmax * s / (km * (1 + i / k1) + s * (1 + i / k2))


def fit(mode, keep):
    v0 = np.max(V[I == 0]) * 1.2
    km0 = np.median(S)
    ki0 = np.median(I[I > 0])
    x0 = [np.log(v0), np.log(km0), np.log(ki0)] + ([np.log(3 * ki0)] if mode == 3 else [])
    best = None
    for shift in (-1.0, 0.0, 1.0):
        start = np.array(x0) + np.r_[0, 0, shift, [shift] * (mode == 3)]
        res = least_squares(lambda p: np.log(law(p, S[keep], I[keep], mode)) - np.log(V[keep]), start, loss="soft_l1", f_scale=0.1)
        if best is None or res.cost < best.cost:
            best = res
    return best


keep = np.ones_like(V, bool)
mixed = fit(3, keep)
resid = np.log(law(mixed.x, S, I, 3)) - np.log(V)
mad = 1.4826 * np.median(np.abs(resid - np.median(resid)))
keep = np.abs(resid - np.median(resid)) < 4 * mad
fits = {mode: fit(mode, keep) for mode in (1, 2, 3)}
n = keep.sum()
bic = {}
for mode, res in fits.items():
    rss = np.sum((np.log(law(res.x, S[keep], I[keep], mode)) - np.log(V[keep])) ** 2)
    bic[mode] = n * np.log(rss / n) + len(res.x) * np.log(n)
mode = min(bic, key=bic.get)
params = fits[mode].x
np.save("mode.npy", np.array([mode], dtype=np.int64))
np.save("kinetics.npy", np.array([np.exp(params[0]), np.exp(params[1])], dtype=np.float64))
np.save("rates_pred.npy", law(params, query["substrate_um"], query["inhibitor_um"], mode).astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
