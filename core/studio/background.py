"""Long work (discovery, maps) in a background thread that reports real progress, like training does.

A `Task` runs `work(progress)` in a daemon thread; `work` calls `progress(stage, done, total)` as it goes and returns
its result. A UI polls `task.snapshot()` (for example from a Streamlit fragment that re-runs every second) instead of
blocking a page behind a spinner, so the page stays usable and the user sees which stage is running and how far it is.
The engine never imports streamlit: this module is plain threading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import InputError

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Task:
    """One piece of background work: its progress, then its result or its error."""

    name: str
    work: Callable[[Progress], Any]
    state: str = "waiting"  # waiting | running | done | failed
    stage: str = ""
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    started: float = 0.0
    finished: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> Task:
        self.state, self.started = "running", time.time()
        self._thread = threading.Thread(target=self._run, name=f"task-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _progress(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self.stage, self.done, self.total = stage, int(done), int(total)

    def _run(self) -> None:
        try:
            result = self.work(self._progress)
            with self._lock:
                self.result, self.state = result, "done"
        except InputError as e:  # bad input: its one line is the whole message
            with self._lock:
                self.error, self.state = str(e), "failed"
        except Exception as e:  # shown to the user in one line, never as a traceback
            with self._lock:
                self.error, self.state = f"{type(e).__name__}: {e}", "failed"
        finally:
            self.finished = time.time()

    @property
    def running(self) -> bool:
        return self.state in ("waiting", "running")

    def join(self, timeout: float | None = None) -> Task:
        if self._thread is not None:
            self._thread.join(timeout)
        return self

    def snapshot(self) -> dict:
        """A consistent copy of the progress: state, stage, done / total, seconds so far, the error if any."""
        with self._lock:
            end = self.finished or time.time()
            return {"state": self.state, "stage": self.stage, "done": self.done, "total": self.total,
                    "seconds": end - self.started if self.started else 0.0, "error": self.error}


def run_task(name: str, work: Callable[[Progress], Any]) -> Task:
    """Start `work` in the background and return its Task."""
    return Task(name, work).start()


def stages(progress: Progress, names: list[str]) -> Callable[[str], None]:
    """A helper for work made of named steps with no finer progress: `step(name)` reports 'name' as step i of n."""
    total = len(names)

    def step(name: str) -> None:
        progress(name, names.index(name), total)

    return step
