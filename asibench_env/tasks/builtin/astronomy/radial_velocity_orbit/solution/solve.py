"""Reference solver for astronomy.radial_velocity_orbit.

A generalised Lomb-Scargle periodogram (weighted sine fit with offset) on a fine frequency grid gives
the period; a Keplerian model (P, K, e, omega, Tp, gamma) is then fitted by weighted least squares with
the jitter added in quadrature to the errors (the jitter estimated from the residuals), from a grid of
eccentricities and periastron phases.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import least_squares

data = np.genfromtxt("data/radial_velocities.csv", delimiter=",", names=True)
star = json.loads(Path("data/star.json").read_text())
eval_times = np.load("data/eval_times_d.npy")
t, rv, err = data["time_d"], data["rv_ms"], data["rv_err_ms"]
G, M_SUN, M_JUP, DAY = 6.674e-11, 1.989e30, 1.898e27, 86400.0


def kepler_rv(p, t):
    period, k, e, omega, tp, gamma = p
    m = 2 * np.pi * (t - tp) / period
    ecc = m.copy()
    for _ in range(25):
        ecc = ecc - (ecc - e * np.sin(ecc) - m) / (1 - e * np.cos(ecc))
    nu = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(ecc / 2), np.sqrt(1 - e) * np.cos(ecc / 2))
    return gamma + k * (np.cos(nu + omega) + e * np.cos(omega))


def periodogram_best(weights):
    span = t.max() - t.min()
    freqs = np.arange(1 / 80.0, 1 / 3.0, 1 / span / 20)
    best = (np.inf, None)
    for f in freqs:
        design = np.c_[np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), np.ones_like(t)]
        coef, *_ = np.linalg.lstsq(design * weights[:, None], rv * weights, rcond=None)
        chi2 = np.sum(((design @ coef - rv) * weights) ** 2)
        if chi2 < best[0]:
            best = (chi2, (1 / f, np.hypot(*coef[:2]), coef[2]))
    return best[1]


jitter = 3.0
period0, k0, gamma0 = periodogram_best(1 / np.sqrt(err**2 + jitter**2))
bounds = ([0.9 * period0, 1, 0, -10, -1e4, -200], [1.1 * period0, 300, 0.9, 20, 1e4, 200])


def fit_from(start, sigma):
    return least_squares(lambda p: (kepler_rv(p, t) - rv) / sigma, start, bounds=bounds)


sigma = np.sqrt(err**2 + jitter**2)
starts = [
    [period0, k0, e0, w0, t.min() + phase * period0, gamma0]
    for e0 in (0.1, 0.4)
    for w0 in np.linspace(0, 2 * np.pi, 4, endpoint=False)
    for phase in np.linspace(0, 1, 3, endpoint=False)
]
best = min((fit_from(start, sigma) for start in starts), key=lambda f: f.cost)
resid = kepler_rv(best.x, t) - rv
jitter = float(np.sqrt(max(np.mean(resid**2) - np.mean(err**2), 0.25)))
best_params = fit_from(best.x, np.sqrt(err**2 + jitter**2)).x
period, k, e = best_params[:3]
msini = k * np.sqrt(1 - e**2) * (period * DAY / (2 * np.pi * G)) ** (1 / 3) * (star["mass_msun"] * M_SUN) ** (2 / 3) / M_JUP
plt.switch_backend("Agg")
fig, (ax_time, ax_phase) = plt.subplots(2, 1, figsize=(8, 7))
t_fine = np.linspace(t.min(), eval_times.max(), 4000)
ax_time.errorbar(t, rv, yerr=np.sqrt(err**2 + jitter**2), fmt=".", ms=4, lw=0.6, label="measured (errors with jitter)")
ax_time.plot(t_fine, kepler_rv(best_params, t_fine), lw=0.8, label="Keplerian fit")
ax_time.set(xlabel="time (d)", ylabel="radial velocity (m/s)")
ax_time.legend(fontsize=8)
phase = ((t - best_params[4]) / period) % 1.0
phase_fine = np.linspace(0, 1, 500)
ax_phase.errorbar(phase, rv, yerr=np.sqrt(err**2 + jitter**2), fmt=".", ms=4, lw=0.6)
ax_phase.plot(phase_fine, kepler_rv(best_params, best_params[4] + phase_fine * period), lw=1.0)
ax_phase.set(xlabel=f"phase from periastron (P = {period:.3f} d)", ylabel="radial velocity (m/s)")
fig.tight_layout()
fig.savefig("rv_fit.png", dpi=110)

np.save("orbit.npy", np.array([period, k, e, msini], dtype=np.float64))
np.save("rv_pred.npy", kepler_rv(best_params, eval_times).astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
