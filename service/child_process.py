"""Worker processes die with the server that started them.

A server killed with SIGKILL runs no shutdown code, so its worker processes (forecast
pool, the multiprocessing manager, print renderers) would live on as orphans and keep
computing. :func:`die_with_parent` is the initializer those processes run first: a
daemon thread checks every ``interval_s`` whether the parent is still the process that
started this one and ends the process at once (``os._exit``) when it is not.

``PR_SET_PDEATHSIG`` is not used: Linux sends it when the *thread* that forked exits,
and the pools here are started from short-lived worker threads.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["die_with_parent"]

_EXIT_CODE = 70  # EX_SOFTWARE: the parent went away


def _watch(parent_pid: int, interval_s: float) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(_EXIT_CODE)
        time.sleep(interval_s)


def die_with_parent(interval_s: float = 0.5) -> None:
    """End this process within about ``interval_s`` seconds of its parent's death.

    Call it first thing in a child process (a pool's ``initializer``). Idempotent per
    process.
    """
    if getattr(die_with_parent, "_started_in", None) == os.getpid():
        return
    parent_pid = os.getppid()
    if parent_pid == 1:  # already orphaned (adopted by init) before we could look
        os._exit(_EXIT_CODE)
    die_with_parent._started_in = os.getpid()  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=_watch, args=(parent_pid, interval_s), name="parent-watch", daemon=True
    )
    thread.start()
