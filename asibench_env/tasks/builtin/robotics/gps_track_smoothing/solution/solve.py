"""Reference solver for robotics.gps_track_smoothing.

A constant-velocity Kalman filter (continuous white-noise acceleration, exact discretisation for each
irregular interval) with innovation gating against multipath outliers; q and r by maximising the
innovation likelihood; then a Rauch-Tung-Striebel smoother for position and velocity at every fix.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import minimize

data = np.genfromtxt("data/gps_fixes.csv", delimiter=",", names=True)
t = data["time_s"]
z = np.c_[data["x_m"], data["y_m"]]
n = t.size
H = np.zeros((2, 4))
H[0, 0] = H[1, 1] = 1.0


def matrices(dt, q):
    F = np.eye(4)
    F[0, 2] = F[1, 3] = dt
    Q1 = q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    Q = np.zeros((4, 4))
    Q[np.ix_([0, 2], [0, 2])] = Q1
    Q[np.ix_([1, 3], [1, 3])] = Q1
    return F, Q


def kalman(q, r, gate=9.21):
    x = np.r_[z[0], 0.0, 0.0]
    P = np.diag([r**2, r**2, 25.0, 25.0])
    R = r**2 * np.eye(2)
    xs, Ps, xp, Pp, Fs = [], [], [], [], []
    loglik = 0.0
    for k in range(n):
        F, Q = matrices(t[k] - t[k - 1] if k else 0.0, q)
        x, P = F @ x, F @ P @ F.T + Q
        xp.append(x.copy()); Pp.append(P.copy()); Fs.append(F)  # fmt: skip
        v = z[k] - H @ x
        S = H @ P @ H.T + R
        d2 = v @ np.linalg.solve(S, v)
        if k == 0 or d2 < gate:
            K = P @ H.T @ np.linalg.inv(S)
            x, P = x + K @ v, (np.eye(4) - K @ H) @ P
            loglik -= 0.5 * (d2 + np.log(np.linalg.det(S)))
        else:
            loglik -= 0.5 * (gate + np.log(np.linalg.det(S)))  # a capped penalty for gated fixes
        xs.append(x.copy()); Ps.append(P.copy())  # fmt: skip
    return np.array(xs), np.array(Ps), np.array(xp), np.array(Pp), Fs, loglik


def negative_loglik(p):
    return -kalman(np.exp(p[0]), np.exp(p[1]))[-1]


start = [np.log(0.1), np.log(np.std(np.diff(z[:, 0])) / 2)]
best = minimize(negative_loglik, start, method="Nelder-Mead", options={"xatol": 1e-2, "fatol": 1e-2})
q, r = np.exp(best.x)
xs, Ps, xp, Pp, Fs, _ = kalman(q, r)
smooth = xs.copy()
for k in range(n - 2, -1, -1):
    C = Ps[k] @ Fs[k + 1].T @ np.linalg.inv(Pp[k + 1])
    smooth[k] = xs[k] + C @ (smooth[k + 1] - xp[k + 1])
    Ps[k] = Ps[k] + C @ (Ps[k + 1] - Pp[k + 1]) @ C.T

np.save("positions.npy", smooth[:, :2].astype(np.float64))
np.save("velocities.npy", smooth[:, 2:].astype(np.float64))
np.save("noise.npy", np.array([q, r], dtype=np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
