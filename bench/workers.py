"""Long campaigns' worker pool: each job in its own forked process, `workers` at a time, a hung one killed
and reported, a dead one reported, results handed back as they come. The scenario campaign
(scenarios.py) and the all-pairs fault matrix (fault_pairs.py) run on it.
"""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any


def _child(run: Callable[[Any], dict[str, Any]], job: Any, out: Any) -> None:
    try:
        out.send(run(job))
    finally:
        out.close()


def run_all(jobs: list[Any], run: Callable[[Any], dict[str, Any]], workers: int, timeout_s: float,
            failed: Callable[[Any, str], dict[str, Any]], report: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """run(job) for every job, in the order the jobs finish; failed(job, why) stands for the result of
    one whose process died or outlived timeout_s."""
    ctx = multiprocessing.get_context("fork")
    pending = list(enumerate(jobs))
    running: dict[int, tuple[Any, Any, Any, float]] = {}
    results: list[dict[str, Any]] = []
    while pending or running:
        while pending and len(running) < workers:
            index, job = pending.pop(0)
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(run, job, send), daemon=True)
            proc.start()
            send.close()
            running[index] = (job, proc, receive, time.monotonic())
        for index, (job, proc, receive, since) in list(running.items()):
            result = None
            if receive.poll(0.05):
                try:
                    result = receive.recv()
                except EOFError:
                    result = failed(job, f"its process died (exit {proc.exitcode})")
            elif not proc.is_alive() and not receive.poll(0.2):
                result = failed(job, f"its process died (exit {proc.exitcode})")
            elif time.monotonic() - since > timeout_s:
                proc.kill()
                result = failed(job, f"it did not finish in {timeout_s:.0f} s of wall time")
            if result is not None:
                proc.join(5)
                receive.close()
                del running[index]
                results.append(result)
                report(result)
    return results
