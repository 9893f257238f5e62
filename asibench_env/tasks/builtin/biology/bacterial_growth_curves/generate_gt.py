"""Generator for biology.bacterial_growth_curves.

A plate reader follows bacterial growth in several wells (strains or media) for a day: optical density
every 15 minutes, on top of the medium's background absorbance (blank wells are read too), with
multiplicative and additive noise. Growth follows the modified Gompertz model of Zwietering et al.
(1990), ln(N/N0) = A exp(-exp(mu e (lag - t) / A + 1)). The agent must correct for the background,
fit a growth model per well and report lag time, maximum specific growth rate and the asymptote.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "biology.bacterial_growth_curves"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_wells": 8, "n_blanks": 3, "noise": 0.02}
HERE = Path(__file__).resolve().parent


def gompertz(t, lag, mu, a):
    return a * np.exp(-np.exp(mu * np.e * (lag - t) / a + 1))


def render(template: str, values: dict[str, object]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(values[m.group(1)]), template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args()
    given = json.loads(args.params)
    unknown = set(given) - set(PARAMETERS) - {"seed"}
    if unknown:
        raise SystemExit(f"unknown parameters: {sorted(unknown)}")
    params = {**PARAMETERS, "seed": 0, **given}
    rng = np.random.default_rng(int(params["seed"]))
    wells, blanks, noise = int(params["n_wells"]), int(params["n_blanks"]), float(params["noise"])

    minutes = np.arange(0, 24 * 60 + 1, 15)
    hours = minutes / 60.0
    background = rng.uniform(0.04, 0.09)
    truth = np.column_stack([rng.uniform(1.0, 6.0, wells), rng.uniform(0.3, 1.2, wells), rng.uniform(2.5, 4.5, wells)])
    od0 = rng.uniform(0.004, 0.012, wells)
    rows = []
    for w in range(wells):
        od = od0[w] * np.exp(gompertz(hours, *truth[w]))
        reading = (od + background) * np.exp(rng.normal(0, noise, hours.size)) + rng.normal(0, 0.002, hours.size)
        rows += [(f"W{w + 1:02d}", "culture", m, r) for m, r in zip(minutes, reading, strict=True)]
    for b in range(blanks):
        reading = background * np.exp(rng.normal(0, noise, hours.size)) + rng.normal(0, 0.002, hours.size)
        rows += [(f"B{b + 1:02d}", "blank", m, r) for m, r in zip(minutes, reading, strict=True)]

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "plate_reads.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["well", "content", "time_min", "od600", "chamber_temperature_c"])
        for well, content, minute, reading in rows:
            writer.writerow([well, content, int(minute), f"{reading:.4f}", f"{37 + rng.normal(0, 0.1):.1f}"])
    np.save(out / "reference" / "lag_ref.npy", truth[:, 0].astype(np.float64))
    np.save(out / "reference" / "mu_max_ref.npy", truth[:, 1].astype(np.float64))
    np.save(out / "reference" / "asymptote_ref.npy", truth[:, 2].astype(np.float64))

    values = {"n_wells": wells, "n_blanks": blanks}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/plate_reads.csv"],
        "reference_files": ["reference/lag_ref.npy", "reference/mu_max_ref.npy", "reference/asymptote_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
