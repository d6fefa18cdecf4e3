"""Where studies live: Optuna's RDB storage, SQLite in the workspace by default, any SQLAlchemy URL otherwise.

Several processes (or machines, with a server database such as PostgreSQL) may work on one study at once: that is
Optuna's documented distributed mode. A process that dies mid-trial leaves that trial RUNNING; a heartbeat every few
seconds lets any later process see it is stale, mark it failed and queue its parameters again
(RetryHeartbeatStaleTrialCallback). A dead process on this very machine is recognised at once from the pid and host every trial
records, so a rerun after kill -9 need not wait out the grace period.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from core.data.workspace import workspace_dir
from core.errors import InputError

HEARTBEAT_SECONDS = 2  # how often a running trial tells the storage it is alive
GRACE_SECONDS = 20  # a trial silent this long is stale: its process died (checked before every new trial)
RETRIES = 2  # times a stale trial's parameters are queued again


def default_storage_url(workspace: str | os.PathLike | None = None) -> str:
    """sqlite:///<workspace>/studies.db, the folder created if missing."""
    path = workspace_dir(workspace) / "studies.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def open_storage(url: str | None = None, workspace: str | os.PathLike | None = None) -> RDBStorage:
    """The storage at `url` (None: the workspace's SQLite file), with heartbeats and retries; one InputError when it
    cannot be opened (a malformed URL, a missing database driver, a server that does not answer)."""
    url = url or default_storage_url(workspace)
    if url.startswith("sqlite:///"):
        parent = Path(url.removeprefix("sqlite:///")).expanduser().parent
        if not parent.is_dir():
            raise InputError(f"--storage {url}", f"the folder {parent} does not exist", "create it, or give another path")
        _write_ahead_log(parent / Path(url).name)
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(10):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_SECONDS,
                                  grace_period=GRACE_SECONDS,
                                  heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(RETRIES))
        except ModuleNotFoundError as e:
            raise InputError(f"--storage {url}", f"needs the database driver {e.name!r}, which is not installed",
                             f"pip install {e.name}, or use sqlite:///path/studies.db") from None
        except Exception as e:  # SQLAlchemy's ArgumentError, OperationalError...: one line, the first of its message
            if _creating_race(e, url) and attempt < 9:  # two workers creating one SQLite file's tables at once
                time.sleep(0.3 + 0.2 * attempt)
                continue
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"--storage {url}", f"cannot be opened ({first})",
                             "give a SQLAlchemy URL that this machine can reach, e.g. sqlite:///workspace/studies.db or "
                             "postgresql://user:pass@host/db") from None
    raise AssertionError("unreachable")


def _write_ahead_log(path: Path) -> None:
    """SQLite in write-ahead-log mode (kept in the file): readers never block the writer, so several workers on one file
    do not queue behind each other's reads."""
    import sqlite3

    try:
        with sqlite3.connect(path, timeout=60) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:  # not a database file, or locked beyond the timeout: RDBStorage reports it in one line
        pass


def _creating_race(error: Exception, url: str) -> bool:
    text = str(error).lower()
    return url.startswith("sqlite") and any(w in text for w in ("already exists", "locked", "unique constraint"))


def process_identity() -> dict:
    """What a trial records about the process running it, so a rerun on this host can tell that it died."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Mark failed, and queue again, the RUNNING trials whose process on this host is gone (kill -9, a crash); the
    heartbeat catches those of other hosts. Returns their numbers."""
    from core.runs.folder import process_alive

    storage, failed = study._storage, []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.system_attrs.get("hieralign:process") or {}
        if owner.get("pid") == os.getpid() or process_alive(owner.get("pid"), owner.get("host")) is not False:
            continue
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                failed.append(trial.number)
                callback = storage.get_heartbeat_stale_trial_callback()
                if callback is not None:
                    callback(study, storage.get_trial(trial._trial_id))
        except optuna.exceptions.UpdateFinishedTrialError:  # another process got there first
            pass
    return failed
