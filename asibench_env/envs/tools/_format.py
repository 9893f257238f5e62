"""Observation text shared by several tools: a command's result, and a workspace listing."""

from __future__ import annotations

from asibench_env.sandbox.base import ExecResult, FileEntry, Sandbox, SandboxPathError

LISTING_MAX_ENTRIES = 200


def format_exec(result: ExecResult, kind: str) -> str:
    """The observation of a shell command or Python cell: restart note, output, timeout note, exit code."""
    parts = []
    if result.restarted:
        parts.append(f"[the {kind} had stopped and was restarted: earlier state is lost]")
    if result.output:
        parts.append(result.output.rstrip("\n"))
    if result.timed_out:
        parts.append(f"[timed out after {result.duration_s:.1f} s; the {kind} command was killed]")
    parts.append(f"[exit code {result.exit_code}]")
    return "\n".join(parts)


def format_listing(sandbox: Sandbox, path: str = ".") -> str:
    """A recursive listing of a workspace folder, one entry a line; errors come back as ``[error] ...`` text."""
    try:
        entries = sandbox.list_files(path, max_entries=LISTING_MAX_ENTRIES)
    except (SandboxPathError, OSError) as exc:
        return f"[error] {exc}"
    return render_listing(entries)


async def format_listing_async(sandbox: Sandbox, path: str = ".") -> str:
    """:func:`format_listing` through the sandbox's async API."""
    try:
        entries = await sandbox.list_files_async(path, max_entries=LISTING_MAX_ENTRIES)
    except (SandboxPathError, OSError) as exc:
        return f"[error] {exc}"
    return render_listing(entries)


def render_listing(entries: list[FileEntry]) -> str:
    """Listing entries as text, one a line (``(empty)`` for none, a note when the cap was reached)."""
    if not entries:
        return "(empty)"
    lines = [
        f"{e.path}{'/' if e.kind == 'dir' else ''}" + (f"  ({e.size} bytes)" if e.kind == "file" else "")
        for e in entries
    ]
    if len(entries) >= LISTING_MAX_ENTRIES:
        lines.append(f"[listing stopped at {LISTING_MAX_ENTRIES} entries]")
    return "\n".join(lines)
