"""Reference solver for physics.damped_oscillator_fit: robust nonlinear least squares.

Initial guesses come from the data (a Lomb-Scargle periodogram computed directly at the irregular sample
times for the frequency, the envelope's log slope for the damping); a soft-L1 loss keeps the outliers
from pulling the fit. The driven response follows from the fitted gamma and omega0.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

data = np.genfromtxt("data/trajectory.csv", delimiter=",", names=True)
t, x = data["time_s"], data["displacement_m"]
eval_times = np.load("data/eval_times.npy")

offset0 = np.median(x)
centred = x - offset0
freqs = np.linspace(0.5, 10.0, 4000)
# Lomb-Scargle power: a least-squares sinusoid fit at each trial frequency, valid for uneven sampling.
phase_t = freqs[:, None] * t[None, :]
tau = np.arctan2(np.sin(2 * phase_t).sum(1), np.cos(2 * phase_t).sum(1)) / (2 * freqs)
arg = phase_t - (freqs * tau)[:, None]
cos_a, sin_a = np.cos(arg), np.sin(arg)
power = (cos_a @ centred) ** 2 / (cos_a**2).sum(1) + (sin_a @ centred) ** 2 / (sin_a**2).sum(1)
omega_guess = freqs[np.argmax(power)]

# The envelope: the largest |x| in windows of one period, then a log-linear fit.
period = 2 * np.pi / omega_guess
edges = np.arange(t.min(), t.max(), period)
env_t, env_a = [], []
for lo in edges:
    window = (t >= lo) & (t < lo + period)
    if window.sum() > 3:
        env_t.append(t[window].mean())
        env_a.append(np.percentile(np.abs(centred[window]), 90))
slope, intercept = np.polyfit(env_t, np.log(np.maximum(env_a, 1e-6)), 1)
gamma_guess = max(-slope, 1e-3)
amp_guess = np.exp(intercept)


def model(p, tt):
    amp, gamma, omega0, phase, offset = p
    omega_d = np.sqrt(max(omega0**2 - gamma**2, 1e-12))
    return amp * np.exp(-gamma * tt) * np.cos(omega_d * tt + phase) + offset


best = None
for phase0 in np.linspace(-np.pi, np.pi, 8, endpoint=False):
    p0 = [amp_guess, gamma_guess, np.hypot(omega_guess, gamma_guess), phase0, offset0]
    fit = least_squares(lambda p: model(p, t) - x, p0, loss="soft_l1", f_scale=0.1 * amp_guess)
    if best is None or fit.cost < best.cost:
        best = fit
amp, gamma, omega0, phase, offset = best.x
if amp < 0:
    amp, phase = -amp, phase + np.pi

np.save("parameters.npy", np.array([gamma, omega0, omega0 / (2 * gamma)], dtype=np.float64))
drive = np.load("data/drive_frequencies.npy")
response = 1.0 / np.sqrt((omega0**2 - drive**2) ** 2 + (2 * gamma * drive) ** 2)
np.save("response.npy", response.astype(np.float64))
np.save("fit.npy", model([amp, gamma, omega0, phase, offset], eval_times).astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
