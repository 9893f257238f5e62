"""Download official ASI-Bench instances from the Hugging Face Hub, through the official ``asibench`` pull.

The two official splits are fixed-seed dataset repositories with one layout, ``tasks/<instance_id>/``
(prompts, ``data/``, ``task_info.json``, optionally ``framework_task_info.json``):

- ``seed31415`` also ships ``reference/``: public references, scored locally;
- ``seed42`` keeps its references private: its outputs are scored by the website from a submission bundle.

:func:`pull` calls :func:`ai4sci_bench.hf.pull.pull_instances` (``huggingface_hub.snapshot_download``
underneath, with the hub client's own progress bars), which writes ``<out>/<instance_id>/``, the folder an
``--instances-dir`` reads. Next to the instances it records the pull in :data:`PULL_RECORD_FILE`, so that a
folder never mixes the two splits and ``asibench-env instances list`` can say which split it holds.

The hub address is the hub client's: ``HF_ENDPOINT`` (read when ``huggingface_hub`` is first imported),
``https://huggingface.co`` by default; the token is the official pull's (``HF_TOKEN`` and its aliases).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ai4sci_bench.branding import OFFICIAL_HF_REPO_ALIASES
from ai4sci_bench.hf.pull import pull_instances, resolve_repo_id, resolve_token
from huggingface_hub import HfApi
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from asibench_env.atomic import write_text_atomic
from asibench_env.errors import InfraError
from asibench_env.tasks.loading import TaskFileError
from asibench_env.tasks.registry import instance_dirs_under, is_instance_dir_name, read_instance

Split = Literal["seed31415", "seed42"]
SPLITS: tuple[str, ...] = tuple(OFFICIAL_HF_REPO_ALIASES)  # the official fixed-seed datasets: seed42, seed31415
PULL_RECORD_FILE = ".asibench-env-pull.json"
SPLIT_NOTES = {
    "seed31415": "public references, scored locally",
    "seed42": "private references, scored by the website from a submission bundle",
}


class PullUsageError(ValueError):
    """Bad input to a pull: an unknown split or task id, or a folder that holds another split.

    ``option`` names the command-line option at fault (``--split``, ``--tasks``, ``--out``, ``--repo``).
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class PullError(InfraError):
    """The hub could not be reached, or refused the request (unknown repository or revision, no access)."""


class PulledInstance(BaseModel):
    """One instance folder a pull wrote."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    task_id: str
    has_reference: bool = Field(description="Whether reference/ (ground truth) is present: seed31415 only.")


class PullRecord(BaseModel):
    """What a folder of pulled instances holds: ``<out>/.asibench-env-pull.json``."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    split: Split
    repo_id: str
    revision: str
    endpoint: str
    pulled_at: str = Field(description="When the folder was last pulled into (UTC, ISO 8601).")
    instances: list[PulledInstance] = Field(default_factory=list)


class PullOutcome(BaseModel):
    """The result of one :func:`pull`: the folder's record and what this pull did."""

    record: PullRecord
    pulled: list[str] = Field(default_factory=list, description="Instance ids written by this pull.")
    skipped: list[str] = Field(default_factory=list, description="Instance ids already there (not overwritten).")
    stripped_references: list[str] = Field(
        default_factory=list, description="seed42 instances whose reference/ was removed (a mirror that had them)."
    )


class TaskInstances(BaseModel):
    """One row of ``instances list``: a task's instances in a folder."""

    task_id: str
    instances: int
    with_reference: int
    split: str = Field(description="The folder's split from its pull record, or 'unknown'.")

    @property
    def references(self) -> str:
        """``yes``, ``no`` or ``partial``."""
        if self.with_reference == self.instances:
            return "yes"
        return "no" if self.with_reference == 0 else "partial"


def hub_endpoint() -> str:
    """The Hugging Face Hub address the client uses (``HF_ENDPOINT`` or the public hub)."""
    return str(hf_constants.ENDPOINT)


def check_split(split: str) -> Split:
    """``split`` if it is an official one; raises :class:`PullUsageError` naming the choices otherwise."""
    if split not in SPLITS:
        choices = "; ".join(f"{name} ({SPLIT_NOTES[name]})" for name in SPLITS)
        raise PullUsageError(f"unknown split {split!r}: choose {choices}", "--split")
    return split  # type: ignore[return-value]


def read_pull_record(folder: Path) -> PullRecord | None:
    """The folder's pull record, or None when it has none; raises :class:`PullUsageError` for a broken one."""
    path = Path(folder) / PULL_RECORD_FILE
    if not path.is_file():
        return None
    try:
        return PullRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError) as exc:
        raise PullUsageError(
            f"{path} is not a valid pull record ({exc}); remove it or pull into a new folder", "--out"
        ) from exc


def _check_task_ids(task_ids: Sequence[str]) -> list[str]:
    ids = [t.strip() for t in task_ids if t.strip()]
    for task_id in ids:
        if "." not in task_id or "__" in task_id or "/" in task_id:
            raise PullUsageError(
                f"task id {task_id!r} must be '<domain>.<name>', e.g. physics.damped_oscillator_fit", "--tasks"
            )
    return ids


def _unreachable(endpoint: str, exc: BaseException) -> PullError:
    cause = exc.__cause__ or exc  # the hub client wraps the connection error in LocalEntryNotFoundError
    reason = " ".join(str(cause).split()) or type(cause).__name__
    return PullError(
        f"cannot reach the Hugging Face Hub at {endpoint} ({type(cause).__name__}: {reason[:300]}); "
        "check the network, or set HF_ENDPOINT to a reachable hub or mirror"
    )


def _from_hub_client(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("huggingface_hub", "httpx", "httpx2")


def _failure(endpoint: str, repo_id: str, out: Path | None, exc: Exception) -> Exception:
    """One clear error for what went wrong talking to the hub or writing ``out``; other errors unchanged."""
    if isinstance(exc, HfHubHTTPError):  # the hub answered, with an error (5xx, 401, 403, ...)
        reason = " ".join(str(exc).split())[:300]
        return PullError(f"the Hugging Face Hub at {endpoint} refused the request for {repo_id}: {reason}")
    if _from_hub_client(exc):  # connection, timeout, or no snapshot (LocalEntryNotFoundError wraps the cause)
        return _unreachable(endpoint, exc)
    if isinstance(exc, OSError) and out is not None:
        return PullError(f"cannot write the instances into {out}: {exc}")
    return exc


def _dataset_task_ids(api: HfApi, repo_id: str, revision: str, endpoint: str) -> set[str]:
    """Task ids with instances in the dataset (from the repository's file list, one request)."""
    try:
        info = api.dataset_info(repo_id, revision=revision)
    except RepositoryNotFoundError as exc:
        raise PullError(f"no dataset {repo_id} at {endpoint} (or no access to it: set HF_TOKEN)") from exc
    except RevisionNotFoundError as exc:
        raise PullError(f"dataset {repo_id} at {endpoint} has no revision {revision!r}") from exc
    except Exception as exc:  # the hub client's transport errors are not OSErrors
        raise _failure(endpoint, repo_id, None, exc) from exc
    found: set[str] = set()
    for sibling in info.siblings or []:
        parts = sibling.rfilename.split("/")
        if len(parts) > 2 and parts[0] == "tasks" and is_instance_dir_name(parts[1]):
            found.add(parts[1].split("__", 1)[0])
    return found


def pull(
    split: str,
    out: Path,
    *,
    tasks: Sequence[str] | None = None,
    repo: str | None = None,
    revision: str = "main",
    token: str | None = None,
    overwrite: bool = False,
) -> PullOutcome:
    """Pull one split's instances (all, or those of ``tasks``) into ``out`` and record the pull there.

    ``repo`` overrides the split's official dataset repository (an ``org/name`` id or an official alias).
    Raises :class:`PullUsageError` for bad input (nothing is downloaded) and :class:`PullError` when the
    hub cannot be reached or refuses.
    """
    chosen = check_split(split)
    task_ids = _check_task_ids(tasks or [])
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise PullUsageError(f"{out} is not a folder", "--out")
    previous = read_pull_record(out)
    if previous is not None and previous.split != chosen:
        raise PullUsageError(
            f"{out} already holds split {previous.split} (from {previous.repo_id}); "
            f"pull {chosen} into another folder: the two splits are scored differently",
            "--out",
        )
    try:
        repo_id = resolve_repo_id(repo or chosen)
    except ValueError as exc:
        raise PullUsageError(str(exc), "--repo") from exc
    for other in SPLITS:
        if other != chosen and repo_id == resolve_repo_id(other):
            raise PullUsageError(f"--repo {repo} is the official {other} dataset, not {chosen}", "--repo")
    endpoint = hub_endpoint()
    if hf_constants.is_offline_mode():
        raise PullError(f"HF_HUB_OFFLINE is set: unset it to pull from {endpoint}")
    if task_ids:
        available = _dataset_task_ids(HfApi(token=resolve_token(token)), repo_id, revision, endpoint)
        missing = [t for t in task_ids if t not in available]
        if missing:
            raise PullUsageError(
                f"dataset {repo_id} has no task {', '.join(missing)}; it has "
                f"{len(available)} task(s): {', '.join(sorted(available)) or 'none'}",
                "--tasks",
            )
    try:
        result = pull_instances(
            repo_id, output_dir=out, tasks=task_ids or None, token=token, revision=revision, overwrite=overwrite
        )
    except RepositoryNotFoundError as exc:
        raise PullError(f"no dataset {repo_id} at {endpoint} (or no access to it: set HF_TOKEN)") from exc
    except RevisionNotFoundError as exc:
        raise PullError(f"dataset {repo_id} at {endpoint} has no revision {revision!r}") from exc
    except ValueError as exc:
        raise PullUsageError(str(exc), "--tasks") from exc
    except Exception as exc:  # the hub client's errors, or a local disk error while copying
        raise _failure(endpoint, repo_id, out, exc) from exc

    stripped: list[str] = []
    if chosen == "seed42":  # a mirror must not bring the private split's references onto this machine
        for instance_id in [*result.instance_ids, *result.skipped]:
            reference = out / instance_id / "reference"
            if reference.exists():
                shutil.rmtree(reference)
                stripped.append(instance_id)
    record = PullRecord(
        split=chosen,
        repo_id=repo_id,
        revision=revision,
        endpoint=endpoint,
        pulled_at=datetime.now(UTC).isoformat(timespec="seconds"),
        instances=_describe(out),
    )
    write_text_atomic(out / PULL_RECORD_FILE, record.model_dump_json(indent=2) + "\n")
    return PullOutcome(
        record=record, pulled=list(result.instance_ids), skipped=list(result.skipped), stripped_references=stripped
    )


def _describe(folder: Path) -> list[PulledInstance]:
    described = []
    for path in instance_dirs_under(folder):
        try:
            ref = read_instance(path)
        except TaskFileError:  # a broken instance is reported by the registry that reads it
            continue
        described.append(
            PulledInstance(instance_id=ref.instance_id, task_id=ref.task_id, has_reference=ref.has_reference)
        )
    return described


def summarize_instances(folder: Path) -> list[TaskInstances]:
    """Per task: how many instances ``folder`` holds, how many with references, and the folder's split.

    Raises :class:`FileNotFoundError` when the folder does not exist.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a directory; pass a folder written by `asibench-env instances pull`")
    try:
        record = read_pull_record(folder)
    except PullUsageError:
        record = None
    split = record.split if record else "unknown"
    rows: dict[str, TaskInstances] = {}
    for instance in _describe(folder):
        row = rows.setdefault(
            instance.task_id, TaskInstances(task_id=instance.task_id, instances=0, with_reference=0, split=split)
        )
        row.instances += 1
        row.with_reference += int(instance.has_reference)
    return [rows[t] for t in sorted(rows)]
