"""Reference solver for mathematics.sparse_signal_recovery.

Orthogonal matching pursuit, with the sparsity chosen by the extended BIC
m log(RSS / m) + k log(m) + 2 k log(n) over the OMP path (plain least squares over-fits the noise with
every added column); the estimate is least squares on the chosen support.
"""

from pathlib import Path

import numpy as np

A, y = np.load("data/A.npy"), np.load("data/y.npy")
m, n = A.shape
support, path = [], []
residual = y.copy()
for _ in range(m // 2):
    j = int(np.argmax(np.abs(A.T @ residual)))
    if j not in support:
        support.append(j)
    coef, *_ = np.linalg.lstsq(A[:, support], y, rcond=None)
    residual = y - A[:, support] @ coef
    path.append((list(support), coef, float(residual @ residual)))
scores = [m * np.log(rss / m) + len(s) * np.log(m) + 2 * len(s) * np.log(n) for s, _, rss in path]
chosen, coef, _ = path[int(np.argmin(scores))]
x = np.zeros(n)
x[chosen] = coef
mask = np.zeros(n, dtype=np.int64)
mask[chosen] = 1
np.save("x_hat.npy", x.astype(np.float64))
np.save("support.npy", mask)
np.save("sparsity.npy", np.array([len(chosen)], dtype=np.int64))
Path("analysis.py").write_text(Path(__file__).read_text())
