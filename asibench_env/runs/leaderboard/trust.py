"""Trust labels from evidence: official, reproduced, community, unverified (rules in docs/leaderboard.md).

A label is never typed in: each run folder is checked (:func:`run_evidence`) and a row's label follows
from its runs' evidence (:func:`assess_row`). Every row carries the reasons: checks passed and failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

from asibench_env._version import __version__
from asibench_env.runs.baselines import REPO_BASELINES_DIR
from asibench_env.runs.leaderboard.model import RunSource, TrustLabel
from asibench_env.tasks.hashing import file_sha256, task_sha256
from asibench_env.tasks.registry import TaskRegistry

if TYPE_CHECKING:
    from asibench_env.runs.leaderboard.aggregate import RunData

SCORE_TOLERANCE = 1e-6


@dataclass
class RunEvidence:
    """What one run folder proves: integrity failures (fatal), provenance gaps, official-rule failures."""

    integrity: list[str] = field(default_factory=list)
    """Hashes or scores that do not match: the run's rows fall to unverified."""
    provenance: list[str] = field(default_factory=list)
    """Missing provenance: the run cannot be community (or better)."""
    official: list[str] = field(default_factory=list)
    """Official-rule failures (baseline file, package state, task files)."""
    passed: list[str] = field(default_factory=list)


def _check_outputs(run: RunData, ev: RunEvidence) -> None:
    """Every persisted output file hashes to what its result file recorded."""
    checked = 0
    for key, doc in sorted(run.results.items()):
        manifest = (doc.get("agent_output") or {}).get("persisted_outputs") or {}
        folder = manifest.get("dir")
        if not folder:
            continue
        for entry in manifest.get("files") or []:
            if entry.get("missing") or not entry.get("sha256"):
                continue
            path = run.path / "results" / folder / entry["path"]
            if not path.is_file():
                ev.integrity.append(f"{run.path}: output {entry['path']} of {key} is missing from results/{folder}")
            elif file_sha256(path) != entry["sha256"]:
                ev.integrity.append(f"{run.path}: output {entry['path']} of {key} does not match its recorded sha256")
            checked += 1
    if checked:
        ev.passed.append(f"{run.path}: {checked} persisted output file(s) match their sha256")


def _check_consistency(run: RunData, ev: RunEvidence) -> None:
    """Parquet episodes and result files: same episodes, same statuses and scores, same artifact hashes."""
    if not run.has_parquet:
        ev.provenance.append(f"{run.path}: no trajectories (Parquet episodes)")
        return
    if not run.results:
        ev.provenance.append(f"{run.path}: no result files")
        return
    if run.only_in_parquet or run.only_in_results:
        ev.provenance.append(
            f"{run.path}: trajectories and results list different episodes "
            f"({len(run.only_in_results)} only in results, {len(run.only_in_parquet)} only in Parquet)"
        )
    table = run.episodes.filter(pc.not_equal(run.episodes["run_id"], "results"))
    columns = table.select(["task_id", "prompt_level", "seed", "instance_id", "status", "final_score", "artifacts"])
    mismatched = 0
    for row in columns.to_pylist():
        which = f"seed={row['seed']}" if row["seed"] is not None else row["instance_id"]
        key = f"{row['task_id']}/{row['prompt_level']}/{which}"
        doc = run.results.get(key)
        if doc is None:
            continue
        theirs = doc.get("final_score")
        same_score = (theirs is None) == (row["final_score"] is None) and (
            theirs is None or abs(float(theirs) - float(row["final_score"])) <= SCORE_TOLERANCE
        )
        recorded = {(a["path"], a["sha256"]) for a in (doc.get("agent_output") or {}).get("artifacts") or []}
        logged = {(a["path"], a["sha256"]) for a in row["artifacts"] or []}
        if doc.get("episode_status", "scored") != row["status"] or not same_score:
            ev.integrity.append(f"{run.path}: {key}: result file and Parquet episode disagree on status or score")
            mismatched += 1
        elif recorded != logged:
            ev.integrity.append(f"{run.path}: {key}: artifact hashes differ between result file and Parquet episode")
            mismatched += 1
    if not mismatched:
        ev.passed.append(f"{run.path}: trajectories agree with the result files (statuses, scores, artifact hashes)")


def _check_tasks(run: RunData, registry: TaskRegistry, ev: RunEvidence) -> None:
    recorded: dict[str, str] = run.metadata.get("task_hashes") or {}
    tasks = sorted(run.metadata.get("task_versions") or {})
    if not recorded:
        ev.provenance.append(f"{run.path}: run_metadata.json records no task hashes")
        return
    unrecorded = [t for t in tasks if t not in recorded]
    if unrecorded:
        ev.provenance.append(f"{run.path}: no task hash recorded for {', '.join(unrecorded)}")
    matched = 0
    for task_id, sha in sorted(recorded.items()):
        if task_id not in registry:
            ev.official.append(f"{run.path}: task {task_id} is not installed here, its files cannot be compared")
            continue
        if task_sha256(registry.get(task_id)) != sha:
            ev.integrity.append(f"{run.path}: task {task_id}'s files differ from the ones the run used (task hash)")
        else:
            matched += 1
    if matched:
        ev.passed.append(f"{run.path}: {matched} task hash(es) match the installed task files")


def _check_versions(run: RunData, ev: RunEvidence) -> None:
    meta = run.metadata
    if not meta.get("framework_version"):
        ev.provenance.append(f"{run.path}: no asibench-env version recorded")
    if not (meta.get("dependencies") or {}).get("asibench"):
        ev.provenance.append(f"{run.path}: no asibench (benchmark) version recorded")
    sandbox: dict[str, Any] = meta.get("sandbox") or {}
    if "docker" in (sandbox.get("backend"), sandbox.get("requested_mode")):
        details = sandbox.get("details") or {}
        if not (details.get("image_digest") or details.get("image_id")):
            ev.provenance.append(f"{run.path}: Docker sandbox without an image digest")
        else:
            ev.passed.append(f"{run.path}: sandbox image digest recorded")


def _check_official(run: RunData, ev: RunEvidence) -> None:
    meta = run.metadata
    baseline = meta.get("baseline")
    if not baseline:
        ev.official.append(f"{run.path}: not run from a baseline file (--config)")
        return
    pinned = REPO_BASELINES_DIR / str(baseline.get("file_name"))
    if baseline.get("overrides"):
        ev.official.append(f"{run.path}: baseline settings overridden ({', '.join(baseline['overrides'])})")
    if not pinned.is_file():
        ev.official.append(
            f"{run.path}: baseline {baseline.get('file_name')} is not a file of this repository's baselines/"
        )
    elif file_sha256(pinned) != baseline.get("sha256"):
        ev.official.append(f"{run.path}: baseline {pinned.name} differs from the pinned file (sha256)")
    else:
        ev.passed.append(f"{run.path}: run from the pinned baseline baselines/{pinned.name} (sha256 matches)")
    if meta.get("framework_version") != __version__:
        ev.official.append(
            f"{run.path}: written by asibench-env {meta.get('framework_version')}, this is {__version__}"
        )
    if meta.get("git_dirty") is True:
        ev.official.append(f"{run.path}: run from a modified checkout (git state dirty)")
    elif meta.get("git_dirty") is False:
        ev.passed.append(f"{run.path}: run from a clean checkout ({str(meta.get('git_commit'))[:12]})")


def run_evidence(run: RunData, registry: TaskRegistry, *, check_integrity: bool = True) -> RunEvidence:
    """Check one run folder: versions, sandbox, task hashes, outputs, trajectories vs results, baseline."""
    ev = RunEvidence()
    _check_versions(run, ev)
    _check_tasks(run, registry, ev)
    if check_integrity:
        _check_outputs(run, ev)
        _check_consistency(run, ev)
    else:
        ev.provenance.append(f"{run.path}: integrity not checked")
    _check_official(run, ev)
    return ev


def _agreement(sources: Sequence[RunSource]) -> str | None:
    for a in sources:
        for b in sources:
            if a is b or a.ci95 is None or b.mean is None or set(a.run_ids) & set(b.run_ids):
                continue
            if a.ci95.low <= b.mean <= a.ci95.high:
                return (
                    f"reproduced: {b.path} (mean {b.mean:.2f}) lies inside {a.path}'s interval "
                    f"[{a.ci95.low:.2f}, {a.ci95.high:.2f}]"
                )
    return None


def assess_row(
    runs: Sequence[RunData], evidence: Sequence[RunEvidence], sources: Sequence[RunSource]
) -> tuple[TrustLabel, list[str]]:
    """A row's label and reasons from its runs' evidence (every run must meet a label's rule)."""
    integrity = [m for ev in evidence for m in ev.integrity]
    provenance = [m for ev in evidence for m in ev.provenance]
    official = [m for ev in evidence for m in ev.official]
    passed = [m for ev in evidence for m in ev.passed]
    if integrity:
        return "unverified", [f"unverified: {m}" for m in integrity] + passed
    if not provenance and not official:
        return "official", passed
    agreement = _agreement(sources)
    if agreement:
        return "reproduced", [agreement, *passed, *(f"not official: {m}" for m in official)]
    if not provenance:
        return "community", [*passed, *(f"not official: {m}" for m in official)]
    return "unverified", [f"incomplete provenance: {m}" for m in provenance] + passed
