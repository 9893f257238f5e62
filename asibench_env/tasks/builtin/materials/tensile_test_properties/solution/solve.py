"""Reference solver for materials.tensile_test_properties.

Per specimen: the modulus is the steepest robust linear fit over sliding windows of the low-stress part
(above the seating toe); extending that line to zero stress gives the toe-corrected origin. The 0.2 %
offset yield is where the curve crosses the line of slope E shifted by 0.002; the ultimate strength is
the maximum (of a lightly smoothed curve), the elongation at fracture the corrected strain of the last
point. The Ramberg-Osgood exponent comes from a log-log fit of plastic strain against stress between
half the yield and the ultimate strength.
"""

from pathlib import Path

import numpy as np

rows = np.genfromtxt("data/tensile_tests.csv", delimiter=",", names=True)
moduli, strengths, elongation, hardening = [], [], [], []
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

np.save("moduli.npy", np.array(moduli, dtype=np.float64))
np.save("strengths.npy", np.array(strengths, dtype=np.float64))
np.save("elongation.npy", np.array(elongation, dtype=np.float64))
np.save("hardening.npy", np.array(hardening, dtype=np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
