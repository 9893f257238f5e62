"""Reference solver for electrical_engineering.filter_identification.

The excitation is periodic, so after dropping the first period (the transient) the averaged periods give
an exact frequency response estimate Y/U at the excited DFT bins (leakage-free, no window needed). A
second-order low-pass model is fitted to those points by least squares on the complex log response;
its magnitude (dB) and unwrapped phase are evaluated at the requested frequencies.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

data = np.genfromtxt("data/signals.csv", delimiter=",", names=True)
freqs = np.load("data/frequencies_hz.npy")
t, u, y = data["time_s"], data["input_v"], data["output_v"]
fs = 1.0 / np.median(np.diff(t))
# The period: the lag of the autocorrelation peak of the input.
spectrum = np.abs(np.fft.rfft(u - u.mean()))
power = np.fft.irfft(spectrum**2)
lag = int(np.argmax(power[100 : len(u) // 2])) + 100
period = lag
count = len(u) // period
U = np.fft.rfft(u[period : count * period].reshape(count - 1, period).mean(axis=0))
Y = np.fft.rfft(y[period : count * period].reshape(count - 1, period).mean(axis=0))
excited = np.abs(U) > 0.1 * np.abs(U[1:]).max()
excited[0] = False
f = np.fft.rfftfreq(period, 1 / fs)[excited]
H = Y[excited] / U[excited]


def model(p, f):
    f0, zeta, gain = np.exp(p)
    w, w0 = 2 * np.pi * f, 2 * np.pi * f0
    return gain * w0**2 / (-(w**2) + 2j * zeta * w0 * w + w0**2)


def residual(p):
    d = np.log(model(p, f)) - np.log(H)
    d = d.real + 1j * np.angle(np.exp(1j * d.imag))
    return np.concatenate([d.real, d.imag])


start_f0 = f[np.argmin(np.abs(np.unwrap(np.angle(H)) + np.pi / 2))]
best = min(
    (least_squares(residual, np.log([start_f0, z, np.abs(H[0])]), loss="soft_l1", f_scale=0.1) for z in (0.1, 0.3, 0.7)),
    key=lambda r: r.cost,
)
f0, zeta, gain = np.exp(best.x)
h = model(best.x, freqs)
np.save("parameters.npy", np.array([f0, zeta, gain], dtype=np.float64))
np.save("magnitude_db.npy", (20 * np.log10(np.abs(h))).astype(np.float64))
np.save("phase_rad.npy", np.unwrap(np.angle(h)).astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
