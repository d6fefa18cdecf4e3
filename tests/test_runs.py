"""Run folders as a careless or unlucky user meets them: bad options, reused folders, Ctrl-C, kill -9, damaged files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.align.config import AlignConfig
from core.data.builtins import load_corpus
from core.errors import InputError
from core.runs.alignment import run_alignment
from core.runs.folder import BrokenRun, RunFolder, list_runs, prepare_out
from tests.conftest import ROOT

TREE = load_corpus("synthetic:3x3")
LOOKUP = dict(encoder="lookup", dim=8, batch_size=32, eval_every=10)


def cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize("flags, message", [
    (["--eval-every", "0"], "--eval-every 0: must be an integer >= 1"),
    (["--lr", "-1"], "--lr -1.0: must be a positive number"),
    (["--dim", "-1"], "--dim -1: must be an integer >= 1"),
    (["--dim", "0"], "--dim 0: must be an integer >= 1"),
    (["--method", "heal", "--recipe", "pretrain-finetune"], "far-pair phase applies to pair methods, not heal"),
    (["--method", "hr", "--encoder", "memory"], "memory encoder is trained by the memory method only"),
    (["--temperature", "nan"], "--temperature nan: must be a positive number"),
])
def test_bad_align_options_are_one_line_and_leave_no_folder(tmp_path, flags, message):
    out = tmp_path / "run"
    r = cli("align", "synthetic:3x3", "--encoder", "lookup", "--out", str(out), *flags) if "--encoder" not in flags \
        else cli("align", "synthetic:3x3", "--out", str(out), *flags)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_out_that_is_a_file_or_unwritable_is_refused(tmp_path):
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    r = cli("align", "synthetic:3x3", "--encoder", "lookup", "--steps", "2", "--out", str(existing))
    assert r.returncode == 2 and "is an existing file" in r.stderr and existing.read_text() == "keep me"
    # a folder that cannot be made: inside a file, and (even for root) inside /proc
    for out in (existing / "run", "/proc/hieralign-run"):
        r = cli("align", "synthetic:3x3", "--encoder", "lookup", "--steps", "2", "--out", str(out))
        assert r.returncode == 2 and "cannot be written" in r.stderr and "Traceback" not in r.stderr, r.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # a read-only folder stops every user but root
            r = cli("align", "synthetic:3x3", "--encoder", "lookup", "--steps", "2", "--out", str(locked / "run"))
            assert r.returncode == 2 and "cannot be written" in r.stderr
    finally:
        locked.chmod(0o700)


def test_a_second_run_into_the_same_folder_needs_overwrite(tmp_path):
    config = AlignConfig(method="hr", steps=5, **LOOKUP)
    run_alignment(TREE, config, tmp_path / "run")
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    with pytest.raises(InputError, match="already holds files"):
        run_alignment(TREE, config, tmp_path / "run")
    assert (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() == lines  # untouched
    run_alignment(TREE, config, tmp_path / "run", overwrite=True)
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == len(lines)  # not appended
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a run's"):
        prepare_out(tmp_path / "other", overwrite=True)
    assert (tmp_path / "other" / "notes.txt").exists()


def test_ctrl_c_stops_like_the_apps_stop_button(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "core", "align", "synthetic:4x5", "--encoder", "lookup",
                             "--steps", "100000", "--eval-every", "50", "--out", str(out), "--quiet"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "metrics.jsonl").exists() or \
            len((out / "metrics.jsonl").read_text().splitlines()) < 3:
        time.sleep(0.2)
        assert time.time() < deadline, "the run never got going"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    run = RunFolder(out)
    assert run.state == "stopped" and "stopped early" in stdout
    queries, docs = run.vectors()
    assert docs.shape == (156, 64) and run.metrics["stopped"] is True
    assert (out / "index.faiss").exists()


def test_killed_runs_read_as_interrupted_and_broken_runs_as_broken(tmp_path, monkeypatch):
    workspace = tmp_path / "ws"
    killed = workspace / "runs" / "20260101-000000-hr-lookup-killed"
    proc = subprocess.Popen([sys.executable, "-m", "core", "align", "synthetic:4x5", "--encoder", "lookup",
                             "--steps", "100000", "--out", str(killed), "--quiet"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "metrics.jsonl").exists() or not (killed / "metrics.jsonl").read_text():
        time.sleep(0.2)
        assert time.time() < deadline
    proc.kill()  # kill -9: no chance to write anything
    proc.wait()
    assert RunFolder(killed).state == "interrupted"
    broken = workspace / "runs" / "20260101-000001-hr-lookup-broken"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("")
    rows = {r.name: r.summary() for r in list_runs(workspace)}
    assert rows[broken.name]["state"] == "broken" and "config.json is damaged" in rows[broken.name]["problem"]
    assert rows[killed.name]["state"] == "interrupted"


def test_a_run_opens_its_own_corpus_snapshot_and_checks_ids(tmp_path):
    source = tmp_path / "topics.csv"
    source.write_text("id,text,query,path\na,alpha text,alpha,x/y\nb,beta text,beta,x/z\nc,gamma text,gamma,w\n")
    from core.data.files import load_corpus_file

    corpus = load_corpus_file(source)
    run_alignment(corpus, AlignConfig(method="hr", steps=3, **LOOKUP), tmp_path / "run")
    source.unlink()  # the upload is gone after a restart
    run = RunFolder(tmp_path / "run")
    assert run.corpus.same_content(corpus) and run.corpus.name == str(source)
    (tmp_path / "run" / "doc_ids.json").write_text(json.dumps(["x"] * corpus.n))
    with pytest.raises(BrokenRun, match="does not match"):
        _ = RunFolder(tmp_path / "run").corpus


def test_runs_killed_at_random_moments_leave_a_workspace_the_runs_page_opens(workspace):
    """Fault test: three runs killed (kill -9) at seeded random moments, from start-up to the final writes. Each must
    read as interrupted or complete (never a crash or a half-written success), and the Runs page must list them all."""
    import random

    from streamlit.testing.v1 import AppTest

    rng = random.Random(7)
    procs = []
    for i in range(3):
        out = workspace / "runs" / f"20260101-00000{i}-hr-lookup-fault"
        procs.append((out, subprocess.Popen(
            [sys.executable, "-m", "core", "align", "synthetic:4x5", "--encoder", "lookup", "--steps", "400",
             "--eval-every", "20", "--out", str(out), "--quiet"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), rng.uniform(4.0, 24.0)))
    start = time.time()
    for _out, proc, moment in sorted(procs, key=lambda p: p[2]):
        time.sleep(max(0.0, start + moment - time.time()))
        proc.kill()
        proc.wait()
    states = {}
    for out, _, moment in procs:
        if not out.exists():  # killed before the folder was made: nothing to list, nothing lost
            continue
        states[out.name] = RunFolder(out).summary()["state"]
        assert states[out.name] in ("interrupted", "complete"), (moment, states[out.name])
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/runs.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    listed = {row["run"]: row["state"] for row in table.to_dict("records")}
    assert listed == states and states  # at least one run got as far as its folder
