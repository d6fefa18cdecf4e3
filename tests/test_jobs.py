from __future__ import annotations

import time

from core.align.train import AlignConfig
from core.data.builtins import load_corpus
from core.runs.folder import read_status
from core.studio.jobs import TrainingJob, new_run_dir


def test_background_job_reports_progress_and_stops(tmp_path):
    config = AlignConfig(method="hr", encoder="lookup", dim=8, steps=100_000, lr=0.05, eval_every=50)
    job = TrainingJob(load_corpus("synthetic:3x3"), config, new_run_dir(tmp_path, config)).start()
    deadline = time.time() + 30
    while job.snapshot()["done"] < 120 and time.time() < deadline:
        time.sleep(0.05)
    first = job.snapshot()
    assert first["state"] == "running" and first["total"] == 100_000 and first["done"] >= 120
    assert len(first["evals"]) >= 2 and first["eta"] > 0
    job.stop.set()
    job.join(30)
    final = job.snapshot()
    assert final["state"] == "stopped" and final["done"] >= first["done"]
    assert read_status(job.folder)["state"] == "stopped"
    assert (job.folder / "metrics.json").exists()


def test_two_jobs_never_share_a_folder(tmp_path):
    config = AlignConfig()
    assert new_run_dir(tmp_path, config) != new_run_dir(tmp_path, config)
