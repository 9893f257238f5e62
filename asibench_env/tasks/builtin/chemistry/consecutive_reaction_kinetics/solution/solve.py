"""Reference solver for chemistry.consecutive_reaction_kinetics: a joint weighted fit of [A] and [B].

k1 comes first from the log-linear decay of [A]; both branches of the k2 solution (k2 below and above
k1 give similar [B] curves) are tried as starting points, and the better joint fit wins.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

data = np.genfromtxt("data/concentrations.csv", delimiter=",", names=True)
t, a_obs, b_obs = data["time_min"], data["A_mM"], data["B_mM"]
eval_times = np.load("data/eval_times.npy")


def model(p, tt):
    a0, k1, k2 = p
    a = a0 * np.exp(-k1 * tt)
    b = a0 * k1 / (k2 - k1) * (np.exp(-k1 * tt) - np.exp(-k2 * tt))
    return a, b


def residuals(p):
    a, b = model(p, t)
    scale = 0.02 * np.abs(p[0]) + 1e-9
    return np.concatenate([(a - a_obs) / (np.abs(a) * 0.02 + scale * 0.5), (b - b_obs) / (np.abs(b) * 0.02 + scale * 0.5)])


keep = a_obs > 0.05 * a_obs.max()
slope, intercept = np.polyfit(t[keep], np.log(a_obs[keep]), 1)
k1_0, a0_0 = -slope, np.exp(intercept)
t_peak = t[np.argmax(b_obs)]
best = None
for k2_0 in (0.4 * k1_0, 2.5 * k1_0, 0.2 * k1_0, 4.0 * k1_0):
    fit = least_squares(residuals, [a0_0, k1_0, k2_0], bounds=([0, 1e-4, 1e-4], [np.inf, 50, 50]))
    if best is None or fit.cost < best.cost:
        best = fit
a0, k1, k2 = best.x
t_max = np.log(k2 / k1) / (k2 - k1)
np.save("kinetics.npy", np.array([k1, k2, t_max], dtype=np.float64))
np.save("b_profile.npy", model(best.x, eval_times)[1].astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
