"""Reference solver for materials.tensile_test_properties.

Per specimen: the modulus is the steepest robust linear fit over sliding windows of the low-stress part
(above the seating toe); extending that line to zero stress gives the toe-corrected origin. The 0.2 %
offset yield is where the curve crosses the line of slope E shifted by 0.002; the ultimate strength is
the maximum (of a lightly smoothed curve), the elongation at fracture the corrected strain of the last
point. The Ramberg-Osgood exponent comes from a log-log fit of plastic strain against stress between
half the yield and the ultimate strength.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


rows = np.genfromtxt("data/tensile_tests.csv", delimiter=",", names=True)
moduli, strengths, elongation, hardening = [], [], [], []
curves = []  # (specimen, toe-corrected strain, stress), for the figure
for specimen in np.unique(rows["specimen"]):
    sel = rows["specimen"] == specimen
    strain, stress = rows["strain"][sel], rows["stress_mpa"][sel]
    smooth = np.convolve(stress, np.ones(9) / 9, mode="same")
    uts = float(np.max(smooth[5:-5]))
    upto = int(np.argmax(smooth))


    def offset_yield(slope, intercept):
        corrected = strain - (-intercept / slope)
        gap = smooth[:upto] - slope * (corrected[:upto] - 0.002)
        k = int(np.nonzero(gap <= 0)[0][0])
        return float(np.interp(0, [gap[k], gap[k - 1]], [smooth[k], smooth[k - 1]])), corrected

    # First guess: the steepest 40-point window below half the ultimate strength; then refit the line on
    # 10-50 % of the offset yield it implies, twice (the elastic range is set by the yield, not the UTS).
    low = np.nonzero((stress[:upto] > 0.05 * uts) & (stress[:upto] < 0.5 * uts))[0]
    fits = [np.polyfit(strain[low[i : i + 40]], stress[low[i : i + 40]], 1) for i in range(0, max(1, low.size - 40), 5)]
    slope, intercept = max(fits, key=lambda f: f[0])
    for _ in range(3):
        yield_strength, corrected = offset_yield(slope, intercept)
        window = (stress[:upto] > 0.1 * yield_strength) & (stress[:upto] < 0.5 * yield_strength)
        slope, intercept = np.polyfit(strain[:upto][window], stress[:upto][window], 1)
    yield_strength, corrected = offset_yield(slope, intercept)
    plastic = corrected[:upto] - stress[:upto] / slope
    use = (stress[:upto] > 0.6 * yield_strength) & (plastic > 2e-4)
    exponent, _ = np.polyfit(np.log(stress[:upto][use] / yield_strength), np.log(plastic[use] / 0.002), 1)
    moduli.append(slope)
    strengths.append([yield_strength, uts])
    elongation.append(100.0 * corrected[-1])
    hardening.append(exponent)
    curves.append((specimen, corrected, stress))

plt.switch_backend("Agg")
fig, ax = plt.subplots(figsize=(8, 5))
for (specimen, strain_c, stress_s), slope_s, (yield_s, _) in zip(curves, moduli, strengths):
    line = ax.plot(100 * strain_c, stress_s, lw=0.8, label=f"specimen {int(specimen)}")[0]
    offset = np.linspace(0.002, 0.002 + yield_s / slope_s * 1.1, 20)
    ax.plot(100 * offset, slope_s * (offset - 0.002), ls="--", lw=0.7, color=line.get_color())
    ax.plot(100 * (0.002 + yield_s / slope_s), yield_s, "o", color=line.get_color())
ax.set(xlabel="engineering strain from the elastic line's origin (%)", ylabel="engineering stress (MPa)",
       title="Toe-corrected tensile curves, 0.2 % offset lines and yield points")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("stress_strain.png", dpi=110)

np.save("moduli.npy", np.array(moduli, dtype=np.float64))
np.save("strengths.npy", np.array(strengths, dtype=np.float64))
np.save("elongation.npy", np.array(elongation, dtype=np.float64))
np.save("hardening.npy", np.array(hardening, dtype=np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
