"""Extracting an untrusted output archive: every hostile member is refused, nothing leaves the folder."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from asibench_env.sandbox.tarsafe import safe_extract, seed_tar


def _archive(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=fmt) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    buffer.seek(0)
    return buffer


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info, None


def _ten_gigabyte_header(name: str) -> io.BytesIO:
    """A member that claims 10 GB (a sparse file's apparent size) and stops after its header."""
    info = tarfile.TarInfo(name)
    info.size = 10 * 1024**3
    return io.BytesIO(info.tobuf(format=tarfile.PAX_FORMAT))


def test_hostile_members_are_refused(tmp_path: Path):
    outside = tmp_path / "outside.txt"
    dest = tmp_path / "dest"
    archive = _archive(
        [
            _file("good/result.csv", b"a,b\n1,2\n"),
            _file("../outside.txt", b"escaped"),
            _file("/etc/evil", b"absolute"),
            _file("a/../../outside.txt", b"escaped again"),
            _special("passwd_link", tarfile.SYMTYPE, "/etc/passwd"),
            _special("hard_link", tarfile.LNKTYPE, "good/result.csv"),
            _special("pipe.npy", tarfile.FIFOTYPE),
            _special("tty", tarfile.CHRTYPE),
            _special("disk", tarfile.BLKTYPE),
            _file("good/result.csv", b"a second copy"),
        ]
    )
    report = safe_extract(archive, dest, max_file=1_000_000, max_total=10_000_000)
    assert report.files == {"good/result.csv": 8}
    assert (dest / "good" / "result.csv").read_bytes() == b"a,b\n1,2\n"
    assert set(report.refused) == {
        "../outside.txt",
        "/etc/evil",
        "a/../../outside.txt",
        "passwd_link",
        "hard_link",
        "pipe.npy",
        "tty",
        "disk",
        "good/result.csv",
    }
    assert "symlink" in report.refused["passwd_link"] and "FIFO" in report.refused["pipe.npy"]
    assert "twice" in report.refused["good/result.csv"]
    assert not outside.exists() and not Path("/etc/evil").exists()
    assert [p.relative_to(dest).as_posix() for p in dest.rglob("*")] == ["good", "good/result.csv"]


def test_a_ten_gigabyte_sparse_member_is_refused_without_reading_it(tmp_path: Path):
    gnu_sparse = tarfile.TarInfo("sparse.npy")
    gnu_sparse.type = tarfile.GNUTYPE_SPARSE
    for source in (_ten_gigabyte_header("huge.npy"), _archive([(gnu_sparse, None)], fmt=tarfile.GNU_FORMAT)):
        report = safe_extract(source, tmp_path / "dest", max_file=512 * 1024**2, max_total=2 * 1024**3)
        assert report.files == {}
        assert report.refused, report
    assert list((tmp_path / "dest").rglob("*")) == []


def test_caps_and_allow_list(tmp_path: Path):
    archive = _archive([_file("a.npy", b"1" * 100), _file("b.npy", b"2" * 100), _file("c.npy", b"3" * 10)])
    report = safe_extract(archive, tmp_path / "d", max_file=1000, max_total=150, allowed={"a.npy": 100, "c.npy": 10})
    assert report.files == {"a.npy": 100, "c.npy": 10}
    assert "not asked for" in report.refused["b.npy"]
    archive.seek(0)
    report = safe_extract(archive, tmp_path / "e", max_file=1000, max_total=150)
    assert report.files == {"a.npy": 100, "c.npy": 10} and "total cap" in report.refused["b.npy"]


def test_garbage_is_reported_not_raised(tmp_path: Path):
    report = safe_extract(io.BytesIO(b"\x00garbage" * 100), tmp_path / "d", max_file=10, max_total=10)
    assert report.files == {} and "<archive>" in report.refused


def test_seed_tar_leaves_out_links_and_agent_instruction_files(tmp_path: Path):
    seed = tmp_path / "seed"
    (seed / "data").mkdir(parents=True)
    (seed / "data" / "x.csv").write_text("1\n")
    (seed / "AGENTS.md").write_text("hints")
    (seed / ".claude").mkdir()
    (seed / "data" / "link").symlink_to("/etc/passwd")
    with tarfile.open(fileobj=io.BytesIO(seed_tar(seed))) as archive:
        assert sorted(archive.getnames()) == ["data", "data/x.csv"]
        assert all(m.uid == 0 and m.uname == "" for m in archive.getmembers())
