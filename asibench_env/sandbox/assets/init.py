"""PID 1 of a local sandbox's pid namespace (runs inside it, chrooted, on the base Python with -I -S).

Usage: ``init.py <watchdog fd> <shell command...>``. It starts the shell command as its only child,
reaps every orphan of the namespace, and exits when the shell exits or when the watchdog pipe reaches
end of file (the host process closed the sandbox or died: nobody holds the pipe's write end any more).
When the first process of a pid namespace exits, the kernel kills every other process in it, so
nothing the agent started (``setsid``, double forks, a changed uid) outlives this process.

Signals sent from inside the namespace reach PID 1 only when it handles them: only SIGCHLD is
handled (to reap), so the agent's processes cannot stop or kill it.
"""

import contextlib
import os
import select
import signal
import sys


def _write(path, text):
    try:
        with open(path, "w") as handle:
            handle.write(text)
    except OSError:
        pass


def main(argv):
    watchdog = int(argv[1])
    command = argv[2:]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    shell = os.fork()
    if shell == 0:
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            for fd in (watchdog, wake_read, wake_write):
                os.close(fd)
            _write("/proc/self/oom_score_adj", "1000")  # under memory pressure the agent's processes go first
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _write("/proc/self/oom_score_adj", "-1000")
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)  # the shell holds the host's pipes; ours would keep them open after it exits
    os.close(null)
    poller = select.poll()  # not select(): the watchdog's descriptor may be numbered past 1024
    for fd in (watchdog, wake_read):
        poller.register(fd, select.POLLIN)
    while True:
        try:
            readable = [fd for fd, _ in poller.poll()]
        except InterruptedError:
            readable = [wake_read]
        if watchdog in readable:
            try:
                if not os.read(watchdog, 64):
                    return 0  # the host side is gone
            except OSError:
                return 0
        if wake_read in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 512)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == 0:
                break
            if pid == shell:
                return 0  # the shell ended: the sandbox ends with it (the host starts a new one)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
