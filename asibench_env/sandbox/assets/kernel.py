"""The persistent Python interpreter of a sandbox (runs inside it, on the task runtime).

Requests are JSON lines on stdin: {"code": ...}. Each cell runs in one shared namespace, with file
descriptors 1 and 2 sent to a capture file (so subprocess output is caught too); the reply is one
JSON line: {"ok": bool, "output": str, "truncated": int}. A trailing expression is echoed like a REPL.
"""

import ast
import json
import os
import resource
import sys
import tempfile
import traceback

os.chdir(os.environ.get("ASB_WORKSPACE", "."))
LIMIT = int(os.environ.pop("ASB_OUTPUT_BYTES", "65536"))
for name, value in (
    ("RLIMIT_AS", "ASB_RLIMIT_AS"),
    ("RLIMIT_FSIZE", "ASB_RLIMIT_FSIZE"),
    ("RLIMIT_CPU", "ASB_RLIMIT_CPU"),
    ("RLIMIT_NPROC", "ASB_RLIMIT_NPROC"),
):
    raw = os.environ.pop(value, "")
    if raw:
        resource.setrlimit(getattr(resource, name), (int(raw), int(raw)))

protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(devnull, 0)
capture = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the kernel
namespace = {"__name__": "__main__", "__builtins__": __builtins__}


def read_capture():
    size = capture.seek(0, 2)
    half = LIMIT // 2
    if size <= LIMIT:
        capture.seek(0)
        return capture.read().decode("utf-8", "replace"), 0
    capture.seek(0)
    head = capture.read(half)
    capture.seek(size - half)
    tail = capture.read(half)
    cut = size - 2 * half
    return (head + f"\n[... {cut} bytes cut ...]\n".encode() + tail).decode("utf-8", "replace"), cut


def run(code):
    tree = ast.parse(code, mode="exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        value = eval(compile(last, "<cell>", "eval"), namespace)
        if value is not None:
            print(repr(value))


for line in protocol_in:
    request = json.loads(line)
    capture.seek(0)
    capture.truncate()
    saved = os.dup(1), os.dup(2)
    os.dup2(capture.fileno(), 1)
    os.dup2(capture.fileno(), 2)
    ok = True
    try:
        run(request["code"])
    except SystemExit as exc:
        ok = exc.code in (None, 0)
    except BaseException:
        ok = False
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    output, cut = read_capture()
    protocol_out.write(json.dumps({"ok": ok, "output": output, "truncated": cut}) + "\n")
    protocol_out.flush()
