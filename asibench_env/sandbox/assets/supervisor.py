# The in-container supervisor of a Docker sandbox: PID 1 of the container, run as the agent's
# unprivileged user from `python3 -c`. It is not a file of the image: the host sends this source
# (bundled after base.py, output.py and fsops.py, see container/bundle.py) as the container's command.
#
# It talks to the host over its stdin/stdout (the container's attach stream) in frames of
# "<4-byte big-endian length><bytes>": a message is one JSON frame, then payload frames, then an
# empty frame. It runs the agent's persistent bash and Python, enforces timeouts by killing every
# process of the container but itself, and does the workspace file operations with the same
# race-safe code the local sandbox uses on the host.
#
# As PID 1 it cannot be killed from inside the container (the kernel drops SIGKILL to a namespace's
# init from its own members), and it makes itself non-dumpable so that processes of the same uid
# cannot ptrace it or open its file descriptors.

import contextlib
import ctypes
import io
import json
import os
import signal
import struct
import tarfile
import time
from pathlib import Path

WORKSPACE = Path("/workspace")
MANIFEST = Path("/opt/runtime/asibench-runtime.json")
PR_SET_DUMPABLE = 4
LIBC = ctypes.CDLL(None, use_errno=True)
STDIN, STDOUT = 0, 1


class Frames:
    """Length-prefixed frames on the host channel."""

    def read_exact(self, count):
        data = bytearray()
        while len(data) < count:
            chunk = os.read(STDIN, count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    def read_frame(self):
        (length,) = struct.unpack(">I", self.read_exact(4))
        return self.read_exact(length) if length else b""

    def read_message(self):
        header = json.loads(self.read_frame())
        chunks = []
        while True:
            chunk = self.read_frame()
            if not chunk:
                return header, b"".join(chunks)
            chunks.append(chunk)

    def write_all(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(STDOUT, view) :]

    def send(self, header, payload=b""):
        """One message; ``payload`` is bytes, or a function that writes the payload into a sink."""
        body = json.dumps(header).encode()
        self.write_all(struct.pack(">I", len(body)) + body)
        sink = FrameSink(self)
        if callable(payload):
            payload(sink)
        else:
            sink.write(payload)
        sink.flush()
        self.write_all(struct.pack(">I", 0))


class FrameSink:
    """A writable file whose bytes go to the host as payload frames of up to 1 MiB."""

    def __init__(self, frames):
        self.frames = frames
        self.buffer = bytearray()

    def write(self, data):
        self.buffer += data
        if len(self.buffer) >= 1 << 20:
            self.flush()
        return len(data)

    def flush(self):
        if self.buffer:
            self.frames.write_all(struct.pack(">I", len(self.buffer)) + bytes(self.buffer))
            self.buffer.clear()


class ExactReader:
    """Reads exactly ``size`` bytes of a file that may have shrunk since it was opened (zero padded)."""

    def __init__(self, handle, size):
        self.handle, self.left = handle, size

    def read(self, count=-1):
        count = self.left if count is None or count < 0 else min(count, self.left)
        data = self.handle.read(count)
        data += b"\0" * (count - len(data))
        self.left -= count
        return data


class Child:
    """A process of the agent's (the shell or the interpreter) with pipes to it."""

    def __init__(self, argv, env):
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child execs at once
            try:
                os.setsid()
                LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its /proc files are its own again (exec resets it too)
                with open("/proc/self/oom_score_adj", "w") as handle:
                    handle.write("1000")  # under memory pressure the agent's processes go first
                os.dup2(in_r, 0)
                os.dup2(out_w, 1)
                os.dup2(out_w, 2)
                os.closerange(3, 4096)
                os.chdir(str(WORKSPACE))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        os.close(in_r)
        os.close(out_w)
        self.pid, self.stdin, self.stdout = pid, in_w, out_r
        self.exited = False

    def write(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.stdin, view) :]

    def close(self):
        for fd in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                os.close(fd)


class Supervisor:
    def __init__(self):
        self.frames = Frames()
        self.config = {}
        self.shell = None
        self.kernel = None
        self.kernel_lost = False
        self.children = {}

    # ------------------------------------------------------------------ processes
    def reap(self):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is not None:
                child.exited = True

    def spawn(self, argv, extra_env=None):
        env = dict(self.config["env"])
        env.update(extra_env or {})
        child = Child(argv, env)
        self.children[child.pid] = child
        return child

    def alive(self, child):
        self.reap()
        return child is not None and not child.exited

    def agent_pids(self, keep=()):
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (1, os.getpid(), *keep):
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    state = handle.read().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != b"Z":
                found.append(int(entry))
        return found

    def kill_all(self, keep=()):
        killed = kill_until_gone(lambda: self.agent_pids(keep), rounds=100, after_round=self.reap)
        self.reap()
        return killed

    def kill_child(self, child):
        if child is None:
            return
        with contextlib.suppress(OSError):
            os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while not child.exited and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.001)
        child.close()

    def kept(self, keep_kernel):
        keep = [self.shell.pid] if self.alive(self.shell) else []
        if keep_kernel and self.alive(self.kernel):
            keep.append(self.kernel.pid)
        return keep

    # ------------------------------------------------------------------ shell
    def start_shell(self):
        self.kill_child(self.shell)
        argv = ["/bin/bash", "--noprofile", "--norc", "-c", self.config["ulimits"] + "\n" + self.config["shell_src"]]
        self.shell = self.spawn(argv)

    def op_shell(self, request, _payload):
        restarted = False
        if not self.alive(self.shell):
            self.kill_child(self.kernel)
            self.kernel = None
            self.start_shell()
            restarted = True
        started = time.monotonic()
        try:
            result = shell_roundtrip(
                self.shell.write,
                self.shell.stdout,
                request["command"],
                float(request["timeout"]),
                self.config["output_bytes"],
                kill_command=lambda: self.kill_all(keep=self.kept(keep_kernel=True)),
                tick=self.reap,
            )
        except ShellGone as exc:
            self.kill_child(self.kernel)
            self.kernel = None
            self.kill_all()
            self.start_shell()
            return {"status": "shell_died", "reason": str(exc), "duration": time.monotonic() - started}, b""
        header = {
            "status": "ok",
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "truncated": result.truncated_bytes,
            "duration": result.duration_s,
            "restarted": restarted,
        }
        return header, result.output.encode("utf-8", errors="replace")

    # ------------------------------------------------------------------ python
    def op_python(self, request, _payload):
        timeout = float(request["timeout"])
        restarted = self.kernel_lost
        if not self.alive(self.kernel):
            restarted = restarted or self.kernel is not None
            self.kill_child(self.kernel)
            argv = [self.config["python"], "-u", "-c", self.config["kernel_src"]]
            self.kernel = self.spawn(argv, self.config["kernel_env"])
        self.kernel_lost = False
        started = time.monotonic()
        timed_out = False
        try:
            self.kernel.write((json.dumps({"code": request["code"]}) + "\n").encode())
            cap = reply_cap(self.config["output_bytes"])
            line, timed_out = read_reply_line(self.kernel.stdout, timeout, cap, tick=self.reap)
        except OSError:
            line = b""
        duration = time.monotonic() - started
        try:
            reply = json.loads(line) if line and not timed_out else None
        except ValueError:
            reply = None  # the cell wrote into the reply channel: the interpreter is lost
        if not isinstance(reply, dict) or "output" not in reply:
            self.kill_child(self.kernel)
            self.kernel = None
            self.kill_all(keep=self.kept(keep_kernel=False))
            self.kernel_lost = True
            status = "timeout" if timed_out else "crashed"
            return {"status": status, "duration": duration, "restarted": restarted}, b""
        header = {
            "status": "ok",
            "ok": bool(reply.get("ok")),
            "truncated": int(reply.get("truncated", 0)),
            "duration": duration,
            "restarted": restarted,
        }
        return header, str(reply["output"]).encode("utf-8", errors="replace")

    # ------------------------------------------------------------------ files
    def op_put_tar(self, _request, payload):
        limit = self.config["file_size_bytes"]
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as archive:
            for member in archive:
                parts = split_relative(member.name)
                if not parts:
                    continue
                if member.isdir():
                    with open_parent(WORKSPACE, [*parts, "x"], create=True):
                        pass
                elif member.isfile():
                    source = archive.extractfile(member)
                    write_bytes(WORKSPACE, member.name, source.read(), None, limit)
                else:
                    raise SandboxPathError(f"{member.name}: only files and folders can be placed in the workspace")
        return {"status": "ok"}, b""

    def op_read(self, request, _payload):
        return {"status": "ok"}, read_bytes(WORKSPACE, request["path"], int(request["max_bytes"]))

    def op_write(self, request, payload):
        written = write_bytes(WORKSPACE, request["path"], payload, None, self.config["file_size_bytes"])
        return {"status": "ok", "written": written}, b""

    def op_list(self, request, _payload):
        entries = list_entries(WORKSPACE, request["path"], int(request["max_entries"]))
        return {"status": "ok", "entries": [[e.path, e.kind, e.size] for e in entries]}, b""

    def op_pack(self, request, _payload):
        """Stop every process, then stream the named outputs as a tar, with the local sandbox's refusal rules."""
        self.kill_child(self.kernel)
        self.kernel = None
        self.kill_all(keep=self.kept(keep_kernel=False))
        report, opened = open_outputs(WORKSPACE, request["paths"], int(request["max_file"]), int(request["max_total"]))
        header = {
            "status": "ok",
            "collected": [[item.path, item.size] for item in opened],
            "refused": report.refused,
            "missing": report.missing,
        }

        def write_tar(sink):
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                for item in opened:
                    info = tarfile.TarInfo(item.path)
                    info.size, info.mode, info.mtime = item.size, 0o644, int(time.time())
                    with os.fdopen(item.fd, "rb") as handle:
                        archive.addfile(info, ExactReader(handle, item.size))

        return header, write_tar

    # ------------------------------------------------------------------ control
    def op_hello(self, request, _payload):
        self.config = request["config"]
        self.start_shell()
        manifest = None
        with contextlib.suppress(OSError, ValueError):
            manifest = json.loads(MANIFEST.read_text())
        return {"status": "ok", "manifest": manifest, "uid": os.getuid()}, b""

    def op_ps(self, _request, _payload):
        keep = [self.shell.pid] if self.alive(self.shell) else []
        pids = self.agent_pids(keep)
        described = [describe_process(pid) for pid in pids]
        return {"status": "ok", "pids": pids, "processes": [[p.pid, p.command] for p in described]}, b""

    def op_kill(self, request, _payload):
        killed = self.kill_all(keep=self.kept(bool(request.get("keep_kernel"))))
        if not request.get("keep_kernel"):
            self.kill_child(self.kernel)
            self.kernel = None
        return {"status": "ok", "killed": killed}, b""

    def serve(self):
        LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        while True:
            try:
                request, payload = self.frames.read_message()
            except EOFError:
                return  # the host went away: the container ends and Docker removes it
            handler = getattr(self, "op_" + str(request.get("op")), None)
            try:
                if handler is None:
                    raise ValueError(f"unknown operation {request.get('op')!r}")
                header, body = handler(request, payload)
            except (SandboxPathError, FileNotFoundError, IsADirectoryError) as exc:
                header, body = {"status": "error", "type": type(exc).__name__, "message": str(exc)}, b""
            except Exception as exc:  # noqa: BLE001 - every failure is reported, the supervisor stays up
                header, body = {"status": "error", "type": "OSError", "message": f"{type(exc).__name__}: {exc}"}, b""
            self.frames.send(header, body)
            self.reap()


Supervisor().serve()
