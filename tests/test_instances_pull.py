"""``asibench-env instances pull/list`` against a small Hugging Face Hub served on 127.0.0.1.

The hub is a real HTTP server implementing only what the official pull (``ai4sci_bench.hf.pull``) and the
real ``huggingface_hub`` client ask of a dataset repository: the repository info (with its file list),
the recursive tree listing, and file resolution (HEAD and GET, with ETag, X-Repo-Commit and Content-Length).
It serves the two official splits in the official layout, built from instances of two built-in tasks.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from ai4sci_bench.hf.pull import resolve_repo_id
from helpers import CLI, cli_env

from asibench_env.agents import NullAgent
from asibench_env.cli import main
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.tasks.instances import InstanceCache, sample_params
from asibench_env.tasks.pull import PULL_RECORD_FILE, PullRecord
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

TASKS = ("physics.damped_oscillator_fit", "statistics.changepoint_detection")
SERVER_LIFETIME_S = 600.0  # the hub stops by itself after this, even if a fixture's teardown never runs


# --------------------------------------------------------------------------- the dataset repositories
@dataclass
class DatasetRepo:
    """One dataset repository at one commit: path in the repository -> bytes."""

    files: dict[str, bytes]
    sha: str = field(default="")

    def __post_init__(self) -> None:
        digest = hashlib.sha1()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path])
        self.sha = digest.hexdigest()

    def oid(self, path: str) -> str:
        """The git blob id of a file, as the hub reports it (also its ETag for a non-LFS file)."""
        data = self.files[path]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _official_layout(instance_dir: Path, task_id: str, *, with_reference: bool) -> dict[str, bytes]:
    """``tasks/<instance_id>/...`` as the fixed-seed datasets hold it: prompts, data/, task_info.json,
    framework_task_info.json, and reference/ only in the public split (no instance_meta.json, no generator)."""
    task = builtin_registry().get(task_id)
    meta = json.loads((instance_dir / "instance_meta.json").read_text())
    base = f"tasks/{instance_dir.name}"
    expected = [{"name": f.name, "type": f.type} for f in task.outputs]
    agent_info = {
        "schema_version": 3,
        "task_id": "task_" + hashlib.sha256(task_id.encode()).hexdigest()[:12],
        "expected_outputs": expected,
    }
    framework_info = {**agent_info, "instance_id": instance_dir.name, "parameters": meta["params_used"]}
    files = {
        f"{base}/task_info.json": json.dumps(agent_info, indent=2).encode(),
        f"{base}/framework_task_info.json": json.dumps(framework_info, indent=2).encode(),
    }
    for path in sorted(instance_dir.rglob("*")):
        rel = path.relative_to(instance_dir)
        if not path.is_file() or rel.parts[0] not in ("data", "reference") and not rel.name.startswith("prompt_b"):
            continue
        if rel.parts[0] == "reference" and not with_reference:
            continue
        files[f"{base}/{rel.as_posix()}"] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DatasetRepo]:
    """The two splits (seed31415 with references, seed42 without) and a mirror of seed31415."""
    cache = InstanceCache(tmp_path_factory.mktemp("generated"))
    repos: dict[str, DatasetRepo] = {}
    for split, seed in (("seed31415", 31415), ("seed42", 42)):
        files = {
            ".gitattributes": b"*.npy filter=lfs diff=lfs merge=lfs -text\n",
            "README.md": f"# ASI-Bench {split} (test copy)\n".encode(),
        }
        for task_id in TASKS:
            task = builtin_registry().get(task_id)
            ref, _ = cache.get(task, sample_params(task, seed))
            files |= _official_layout(ref.path, task_id, with_reference=split == "seed31415")
        repos[resolve_repo_id(split)] = DatasetRepo(files)
    repos["test-org/mirror-seed31415"] = DatasetRepo(dict(repos[resolve_repo_id("seed31415")].files))
    return repos


# --------------------------------------------------------------------------- the hub
class FakeHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repos: dict[str, DatasetRepo]):
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.repos = repos
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HubHandler(BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, head: bool = False) -> None:
        self.send_response(status)
        for name, value in {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, *, head: bool = False) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(status, body, {"X-Error-Code": code, "X-Error-Message": message}, head=head)

    def _repo(self, org: str, name: str, revision: str, *, head: bool = False) -> DatasetRepo | None:
        repo = self.server.repos.get(f"{org}/{name}")
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository {org}/{name} not found", head=head)
            return None
        if revision not in ("main", repo.sha):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
            return None
        return repo

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, *, head: bool) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        # GET /api/datasets/{org}/{name}/revision/{rev}: the repository info, with its file list
        if parts[:2] == ["api", "datasets"] and len(parts) == 6 and parts[4] == "revision":
            repo = self._repo(parts[2], parts[3], parts[5])
            if repo is not None:
                info = {
                    "id": f"{parts[2]}/{parts[3]}",
                    "sha": repo.sha,
                    "private": False,
                    "siblings": [{"rfilename": p} for p in sorted(repo.files)],
                }
                self._send(200, json.dumps(info).encode())
            return
        # GET /api/datasets/{org}/{name}/tree/{rev}[/{path}]: the tree listing (one page)
        if parts[:2] == ["api", "datasets"] and len(parts) >= 6 and parts[4] == "tree":
            repo = self._repo(parts[2], parts[3], parts[5])
            if repo is not None:
                prefix = "/".join(parts[6:])
                entries = [
                    {"type": "file", "oid": repo.oid(p), "size": len(data), "path": p}
                    for p, data in sorted(repo.files.items())
                    if not prefix or p.startswith(prefix + "/")
                ]
                self._send(200, json.dumps(entries).encode())
            return
        # HEAD/GET /datasets/{org}/{name}/resolve/{rev}/{path}: a file, with the headers the client requires
        if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve":
            repo = self._repo(parts[1], parts[2], parts[4], head=head)
            if repo is None:
                return
            path = "/".join(parts[5:])
            if path not in repo.files:
                self._error(404, "EntryNotFound", f"{path} does not exist", head=head)
                return
            headers = {
                "Content-Type": "application/octet-stream",
                "ETag": f'"{repo.oid(path)}"',
                "X-Repo-Commit": repo.sha,
            }
            self._send(200, repo.files[path], headers, head=head)
            return
        self._error(404, "NotFound", f"no route {self.path}", head=head)


@pytest.fixture(scope="module")
def hub(datasets: dict[str, DatasetRepo]) -> Iterator[FakeHub]:
    server = FakeHub(datasets)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    stopper = threading.Timer(SERVER_LIFETIME_S, server.shutdown)
    stopper.daemon = True
    stopper.start()
    try:
        yield server
    finally:
        stopper.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- running the command
def _hub_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    env = cli_env(tmp_path, HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGINGFACE_HUB_TOKEN", "HF_HUB_CACHE"):
        env.pop(name, None)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)  # 127.0.0.1 only, never through a proxy
    return env


def _cli(tmp_path: Path, endpoint: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "instances", *args],
        env={**_hub_env(tmp_path, endpoint), **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def _in_process(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (for what never reaches the hub), captured like a subprocess."""
    with pytest.raises(SystemExit) as stopped:
        main(["instances", *args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, int(stopped.value.code or 0), captured.out, captured.err)


def _served(repo: DatasetRepo, instance_ids: set[str] | None = None) -> dict[str, bytes]:
    """The files the pull must write: tasks/<instance_id>/... of the repository, relative to tasks/."""
    out = {}
    for path, data in repo.files.items():
        if path.startswith("tasks/"):
            rel = path.removeprefix("tasks/")
            if instance_ids is None or rel.split("/", 1)[0] in instance_ids:
                out[rel] = data
    return out


def _written(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != PULL_RECORD_FILE
    }


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# --------------------------------------------------------------------------- the tests
def test_pull_public_split_then_run_an_episode_on_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hub: FakeHub, datasets: dict[str, DatasetRepo]
):
    repo = datasets[resolve_repo_id("seed31415")]
    out = tmp_path / "seed31415"
    proc = _cli(tmp_path, hub.url, "pull", "--split", "seed31415", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "split seed31415" in proc.stdout and "2 with references" in proc.stdout

    # exactly the dataset's instance folders, byte for byte, references included
    assert _written(out) == _served(repo)
    assert any("/reference/" in path for path in _written(out))
    record = PullRecord.model_validate_json((out / PULL_RECORD_FILE).read_text())
    assert record.split == "seed31415" and record.repo_id == resolve_repo_id("seed31415")
    assert record.endpoint == hub.url and len(record.instances) == 2
    assert all(i.has_reference for i in record.instances)

    # --instances-dir reads what the pull wrote: ids, tasks, parameters, references
    registry = TaskRegistry([], [out])
    assert registry.instance_task_ids() == sorted(TASKS)
    for task_id in TASKS:
        refs = registry.instances(task_id)
        assert len(refs) == 1 and all(r.has_reference for r in refs)
        assert all(r.params and r.path.parent == out.resolve() for r in refs)
    oscillator = registry.instances(TASKS[0])[0]
    info = json.loads((oscillator.path / "framework_task_info.json").read_text())
    assert oscillator.params == info["parameters"]

    # a Gymnasium episode on a pulled instance: reset(options={"instance_id": ...}), then the null agent
    env = AsiBenchEnv(TASKS[0], registry=registry, instance_cache=InstanceCache(tmp_path / "unused-cache"))
    try:
        observation, reset_info = env.reset(seed=0, options={"instance_id": oscillator.instance_id, "level": "B2"})
        assert reset_info["instance_id"] == oscillator.instance_id and reset_info["instance_cached"] is True
        assert reset_info["parameters"] == info["parameters"]
        assert (oscillator.path / "prompt_b2.md").read_text().strip()[:40] in observation
        result = run_episode(env, NullAgent(), EpisodeSpec(TASKS[0], "B3", 0, instance_id=oscillator.instance_id))
    finally:
        env.close()
    assert result.instance_id == oscillator.instance_id and result.prompt_level == "B3"
    assert result.status != "infra_error", result.error  # scored locally against the pulled references
    assert result.final_score is not None and result.final_score < 50
    assert not (tmp_path / "unused-cache").exists()  # nothing was generated: the pulled instance was used

    # the list command
    listed = _in_process(capsys, "list", "--instances-dir", str(out))
    assert listed.returncode == 0, listed.stderr
    for task_id in TASKS:
        row = next(line for line in listed.stdout.splitlines() if task_id in line)
        assert " 1 " in row and "seed31415" in row and "yes" in row


def test_pull_private_split_one_task(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hub: FakeHub, datasets: dict[str, DatasetRepo]
):
    repo = datasets[resolve_repo_id("seed42")]
    out = tmp_path / "seed42"
    proc = _cli(tmp_path, hub.url, "pull", "--split", "seed42", "--tasks", TASKS[1], "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    wanted = {p.split("/", 1)[0] for p in _served(repo) if p.startswith(TASKS[1] + "__")}
    assert len(wanted) == 1
    assert _written(out) == _served(repo, wanted)
    assert not any("/reference" in path for path in _written(out))
    # the other task's files were never asked for
    assert not any(TASKS[0] in r and "/resolve/" in r for r in hub.requests if "seed42" in r)

    registry = TaskRegistry([], [out])
    refs = registry.instances(TASKS[1])
    assert len(refs) == 1 and not any(r.has_reference for r in refs)
    assert registry.instances(TASKS[0]) == []

    env = AsiBenchEnv(TASKS[1], registry=registry, instance_cache=InstanceCache(tmp_path / "unused-cache"))
    try:
        result = run_episode(env, NullAgent(), EpisodeSpec(TASKS[1], "B1", 0, instance_id=refs[0].instance_id))
    finally:
        env.close()
    assert result.instance_id == refs[0].instance_id
    assert result.status == "produced" and "kept for official scoring" in (result.error or "")

    listed = _in_process(capsys, "list", "--instances-dir", str(out))
    row = next(line for line in listed.stdout.splitlines() if TASKS[1] in line)
    assert "seed42" in row and "no" in row and TASKS[0] not in listed.stdout

    # pulling the same split again adds to the folder; what is there is kept
    again = _cli(tmp_path, hub.url, "pull", "--split", "seed42", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "1 already there" in again.stdout
    assert len(PullRecord.model_validate_json((out / PULL_RECORD_FILE).read_text()).instances) == 2


def test_pull_from_another_repository(tmp_path: Path, hub: FakeHub, datasets: dict[str, DatasetRepo]):
    out = tmp_path / "mirror"
    proc = _cli(
        tmp_path, hub.url, "pull", "--split", "seed31415", "--repo", "test-org/mirror-seed31415", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert _written(out) == _served(datasets["test-org/mirror-seed31415"])
    assert PullRecord.model_validate_json((out / PULL_RECORD_FILE).read_text()).repo_id == "test-org/mirror-seed31415"


def test_a_private_split_pull_keeps_no_references(tmp_path: Path, hub: FakeHub, capsys: pytest.CaptureFixture[str]):
    """seed42 references stay private even when a mirror serves some; the other split's repo is refused."""
    out = tmp_path / "private"
    mirror = "test-org/mirror-seed31415"
    proc = _cli(tmp_path, hub.url, "pull", "--split", "seed42", "--repo", mirror, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "removed reference/ of 2 seed42 instance(s)" in proc.stdout
    assert not list(out.glob("*/reference")) and len(list(out.glob("*__*/data"))) == 2
    record = PullRecord.model_validate_json((out / PULL_RECORD_FILE).read_text())
    assert record.split == "seed42" and not any(i.has_reference for i in record.instances)
    wrong = _in_process(capsys, "pull", "--split", "seed42", "--repo", "seed31415", "--out", str(tmp_path / "w"))
    assert wrong.returncode == 2 and "is the official seed31415 dataset, not seed42" in _one_line(wrong)


def test_unknown_split_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path, hub: FakeHub):
    proc = _in_process(capsys, "pull", "--split", "seed7", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "unknown split 'seed7'" in line and "seed31415" in line and "seed42" in line and "--split" in line
    assert not (tmp_path / "x").exists()


def test_a_folder_holding_another_split_is_refused(tmp_path: Path, hub: FakeHub):
    out = tmp_path / "both"
    first = _cli(tmp_path, hub.url, "pull", "--split", "seed31415", "--tasks", TASKS[0], "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = _written(out)
    count = len(hub.requests)
    proc = _cli(tmp_path, hub.url, "pull", "--split", "seed42", "--out", str(out))
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "already holds split seed31415" in line and "seed42" in line and "--out" in line
    assert _written(out) == before and len(hub.requests) == count  # refused before asking the hub


def test_unreachable_endpoint(tmp_path: Path):
    with socket.socket() as sock:  # a port on 127.0.0.1 that nobody listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for extra in ([], ["--tasks", TASKS[0]]):
        proc = _cli(tmp_path, endpoint, "pull", "--split", "seed31415", *extra, "--out", str(tmp_path / "x"))
        assert proc.returncode == 1, proc.stderr
        line = _one_line(proc)
        assert line.startswith(f"asibench-env instances pull: error: cannot reach the Hugging Face Hub at {endpoint} (")
        assert "ConnectError" in line and "HF_ENDPOINT" in line
    assert not any((tmp_path / "x").glob("*__*"))


def test_offline_mode_is_named(tmp_path: Path, hub: FakeHub):
    count = len(hub.requests)
    proc = _cli(tmp_path, hub.url, "pull", "--split", "seed42", "--out", str(tmp_path / "x"), HF_HUB_OFFLINE="1")
    assert proc.returncode == 1
    assert f"HF_HUB_OFFLINE is set: unset it to pull from {hub.url}" in _one_line(proc)
    assert len(hub.requests) == count


def test_a_task_the_dataset_does_not_have(tmp_path: Path, hub: FakeHub):
    out = tmp_path / "x"
    proc = _cli(
        tmp_path, hub.url, "pull", "--split", "seed42", "--tasks", f"{TASKS[0]},physics.no_such_task", "--out", str(out)
    )
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "has no task physics.no_such_task" in line and TASKS[0] in line and "--tasks" in line
    assert not out.exists() or not any(out.iterdir())  # nothing downloaded


def test_a_malformed_task_id_and_an_unknown_repository(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hub: FakeHub
):
    bad = _in_process(capsys, "pull", "--split", "seed42", "--tasks", "nodomain", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "must be '<domain>.<name>'" in _one_line(bad)
    missing = _cli(
        tmp_path, hub.url, "pull", "--split", "seed42", "--repo", "nobody/nothing", "--out", str(tmp_path / "y")
    )
    assert missing.returncode == 1
    assert f"no dataset nobody/nothing at {hub.url}" in _one_line(missing)


def test_list_of_a_folder_without_a_pull_record(capsys: pytest.CaptureFixture[str], tmp_path: Path, hub: FakeHub):
    out = tmp_path / "copy"
    assert (
        _cli(tmp_path, hub.url, "pull", "--split", "seed31415", "--tasks", TASKS[0], "--out", str(out)).returncode == 0
    )
    (out / PULL_RECORD_FILE).unlink()
    listed = _in_process(capsys, "list", "--instances-dir", str(out))
    assert listed.returncode == 0
    assert "unknown" in next(line for line in listed.stdout.splitlines() if TASKS[0] in line)
    nowhere = _in_process(capsys, "list", "--instances-dir", str(tmp_path / "nowhere"))
    assert nowhere.returncode == 2 and "is not a directory" in _one_line(nowhere)
