"""Official submission bundles of a run, built by the official ``ai4sci_bench`` code.

The official rules take seed42 (private split) runs only: every result's instance id ends in
``__seed42``, each instance and level appears once, and every episode ran in the Docker sandbox. The
bundle itself (``manifest.json``, ``instances/<base>/result.json``, ``outputs/...``, hashes) is written by
:func:`ai4sci_bench.submission.bundle.build_submission`, which reads the run folder the way it reads an
``asibench run`` folder: ``<run>/results/<base>.json`` with ``<run>/results/<base>.outputs/``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from ai4sci_bench.submission.bundle import BundleResult
from ai4sci_bench.submission.bundle import build_submission as official_build_submission

OFFICIAL_SPLIT = "seed42"
_SPLIT_RE = re.compile(r"(?:^|_)(?P<split>seed[0-9]+)$")


class SubmissionError(ValueError):
    """The run cannot become an official submission; the message says why in one line."""


def _split_of(instance_id: str) -> str:
    match = _SPLIT_RE.search(instance_id)
    return match.group("split") if match else "generated"


def check_run(run_dir: Path) -> list[dict]:
    """The run's result documents, or :class:`SubmissionError` when the run is not one seed42 run."""
    results = Path(run_dir) / "results"
    docs = []
    for path in sorted(results.glob("*.json")) if results.is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SubmissionError(f"{path} is not a readable result file ({exc})") from exc
        if isinstance(doc, dict) and "instance_id" in doc and "task_id" in doc:
            docs.append(doc)
    if not docs:
        raise SubmissionError(
            f"{run_dir} holds no result files (results/*.json); give a folder `asibench-env run` wrote"
        )
    splits = sorted({_split_of(doc["instance_id"]) for doc in docs})
    if len(splits) > 1:
        raise SubmissionError(
            f"{run_dir} mixes instance splits ({', '.join(splits)}); a submission holds seed42 results only"
        )
    if splits != [OFFICIAL_SPLIT]:
        raise SubmissionError(
            f"{run_dir} is a {splits[0]} run (instance ids without a _seed42 suffix); "
            "official submissions take the private seed42 split only "
            "(score a seed31415 run locally with `asibench-env score`)"
        )
    twice = [
        f"{i} {lv}" for (i, lv), n in Counter((d["instance_id"], d["prompt_level"]) for d in docs).items() if n > 1
    ]
    if twice:
        raise SubmissionError(f"{run_dir} has the same instance and level more than once: {', '.join(sorted(twice))}")
    not_docker = sorted(
        d["instance_id"] for d in docs if ((d.get("provenance") or {}).get("sandbox") or {}).get("backend") != "docker"
    )
    if not_docker:
        raise SubmissionError(
            f"official submissions need every episode run with --sandbox docker; {len(not_docker)} result(s) "
            f"were not (e.g. {not_docker[0]})"
        )
    return docs


def build_bundle(run_dir: Path, out: Path | None = None, *, note: str | None = None) -> BundleResult:
    """Check the run (:func:`check_run`) and build the official bundle (a folder and its ``.tar.gz``).

    ``out`` ending in ``.tar.gz``/``.tgz`` names the archive, otherwise the bundle folder; the default is
    ``<run>/submission_<UTC time>``. Raises :class:`SubmissionError` (the official checks' refusals too).
    """
    check_run(run_dir)
    try:
        return official_build_submission(Path(run_dir), output_path=out, note=note)
    except (ValueError, FileNotFoundError) as exc:
        raise SubmissionError(" ".join(str(exc).split())) from exc
