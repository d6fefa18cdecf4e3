"""Tuning studies: the declared spaces, the study's bookkeeping (resume after kill -9, two workers on one SQLite file),
its refusals, and that held-out queries never choose anything. Lookup tables on synthetic trees: no model, seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from core.align.config import ENCODERS, METHODS, AlignConfig, search_space
from core.data.builtins import load_corpus
from core.errors import InputError
from core.tuning import TuneSettings, trials_frame, tune
from core.tuning.study import active, base_config, default_params, fit_to_corpus, searched_dimensions
from tests.conftest import ROOT

LOOKUP = ["synthetic:3x3", "--method", "hr", "--encoder", "lookup", "--steps", "300", "--quiet"]


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "tune", *argv], cwd=ROOT, capture_output=True, text=True)


def trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


def states(found) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in found:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def pairs():
    for method in METHODS:
        for encoder in ENCODERS:
            try:
                yield AlignConfig(method=method, encoder=encoder).resolved()
            except InputError:
                continue


@pytest.mark.parametrize("config", list(pairs()), ids=lambda c: f"{c.method}-{c.encoder}")
def test_every_default_lies_in_its_space(config):
    space = search_space(config.method, config.encoder)
    assert space, "every method and encoder searches something"
    chosen: dict = {}
    for name, dimension in space.items():
        assert name not in ("seed", "validation_fraction", "heldout_fraction")  # the split is never searched
        if active(dimension, chosen, config):
            assert dimension.contains(getattr(config, name)), f"{name}={getattr(config, name)} outside {dimension}"
            chosen[name] = getattr(config, name)


def test_fixed_options_leave_the_space_and_a_fully_fixed_space_is_refused():
    config = base_config("hce", "lookup", {"steps": 50})
    assert "steps" not in searched_dimensions(config, {"steps": 50}) and config.steps == 50
    everything = {name: getattr(AlignConfig(method="heal", encoder="lookup").resolved(), name)
                  for name in search_space("heal", "lookup")}
    with pytest.raises(InputError, match="nothing left to search"):
        searched_dimensions(base_config("heal", "lookup", everything), everything)


def test_conditional_options_follow_their_condition():
    config = base_config("hr", "adapter", {})
    space = search_space("hr", "adapter")
    params = default_params(space, config)
    assert params["recipe"] == "standard" and "far_temperature" not in params  # the far phase is off by default
    assert params["head"] == "mlp" and params["hidden"] == 512
    assert fit_to_corpus(space, load_corpus("synthetic:3x3"))["far_threshold"].high == 2  # no pair 3 hops apart
    flat = fit_to_corpus(space, load_corpus("synthetic:2x3"))  # one hop at most: no far pairs, no far phase
    assert not {"recipe", "far_threshold", "far_steps", "far_lr_factor", "far_temperature"} & set(flat)


def test_a_study_reports_best_so_far_and_never_reads_held_out_queries(tmp_path, monkeypatch):
    """An adapter (a head on fixed base vectors: random ones here, no model) has a real held-out split."""
    import numpy as np

    import core.align.train as train

    corpus = load_corpus("synthetic:4x5")
    rng = np.random.default_rng(0)
    base = (rng.normal(size=(len(corpus.query_nodes), 32)), rng.normal(size=(corpus.n, 32)))
    scored: set[int] = set()
    heldout: set[int] = set()
    original = train.Trainer.validation_metrics

    def spy(self):  # what a trial scores: the validation queries, never a held-out one
        scored.update(self.split.validation.tolist())
        heldout.update(self.split.heldout.tolist())
        assert not set(self.split.heldout) & set(self.split.train)
        return original(self)

    monkeypatch.setattr(train.Trainer, "validation_metrics", spy)
    events: list[dict] = []
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = tune(corpus, "hr", TuneSettings(trials=7, storage=url, study="s"), encoder="adapter", base=base,
                  fixed={"steps": 100, "recipe": "standard"}, callback=events.append)
    assert result.finished == 7 and not result.stopped
    assert scored and heldout and not scored & heldout
    done = [e for e in events if e["type"] == "trial"]
    assert [e["number"] for e in done] == list(range(7))
    assert done[0]["note"] == "defaults" and done[0]["params"]["lr"] == 0.001  # the defaults are the first trial
    assert {e["trial"] for e in events if e["type"] == "eval"} == set(range(7))
    found = trials(url, "s")
    for t in found:  # every finished trial reported its best-so-far at the evaluation steps (every 25)
        assert t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        values = [t.intermediate_values[s] for s in sorted(t.intermediate_values)]
        assert values == sorted(values) and set(t.intermediate_values) <= {0, 25, 50, 75, 100}
    assert result.best_value == max(t.value for t in found if t.state == TrialState.COMPLETE)
    assert result.best_config.steps == 100 and result.best_config.eval_every == 25
    frame = trials_frame(result.study)
    assert list(frame["trial"]) == list(range(7)) and frame["best so far"].dropna().is_monotonic_increasing
    # a second call with more trials resumes the same study: 7 kept, 2 more
    again = tune(corpus, "hr", TuneSettings(trials=9, storage=url, study="s"), encoder="adapter", base=base,
                 fixed={"steps": 100, "recipe": "standard"})
    assert again.finished == 9 and len(trials(url, "s")) == 9


def test_a_pruner_stops_trials_that_trail(tmp_path):
    """Median pruning on a space where most trials are hopeless: some trial stops before its last step."""
    corpus = load_corpus("synthetic:4x5")  # 156 nodes: slow learning rates trail for hundreds of steps
    url = f"sqlite:///{tmp_path / 'p.db'}"
    tune(corpus, "hr", TuneSettings(trials=12, storage=url, study="p"), encoder="lookup",
         fixed={"steps": 1000, "eval_every": 100})
    found = trials(url, "p")
    pruned = [t for t in found if t.state == TrialState.PRUNED]
    assert pruned, states(found)
    assert all(max(t.intermediate_values) < 1000 for t in pruned)


def test_a_study_refuses_another_corpus_or_method_and_writes_nothing_on_bad_input(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert cli(*LOOKUP, "--trials", "1", "--storage", url, "--study", "r").returncode == 0
    other = cli("synthetic:2x3", *LOOKUP[1:], "--trials", "1", "--storage", url, "--study", "r")
    assert other.returncode == 2 and "was created for corpus synthetic:3x3" in other.stderr
    method = cli("synthetic:3x3", "--method", "flat", "--encoder", "lookup", "--trials", "1", "--storage", url,
                 "--study", "r", "--quiet")
    assert method.returncode == 2 and "was created for method hr" in method.stderr
    assert len(trials(url, "r")) == 1  # neither refusal ran a trial
    for argv, words in [
        (("synthetic:3x3", "--method", "best", "--trials", "2"), "--method 'best': must be one of"),
        (("synthetic:3x3", "--encoder", "lookup", "--trials", "2"), "needs the method to tune"),
        ((*LOOKUP, "--trials", "0"), "--trials 0: must be a whole number"),
        ((*LOOKUP, "--trials", "2", "--storage", "nosuchdb://x"), "--storage nosuchdb://x: cannot be opened"),
        ((*LOOKUP, "--trials", "2", "--storage", f"sqlite:///{tmp_path}/missing/s.db"), "does not exist"),
    ]:
        bad = cli(*argv, "--workspace", str(tmp_path / "ws"))
        assert bad.returncode == 2, bad.stderr
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], bad.stderr
    assert not (tmp_path / "ws").exists() and not (tmp_path / "missing").exists()  # nothing written


def _wait_for(predicate, seconds: float = 120.0) -> None:
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


def test_kill_9_mid_study_then_the_same_command_finishes_exactly_n(tmp_path):
    url, n = f"sqlite:///{tmp_path / 'k.db'}", 6
    argv = [sys.executable, "-m", "core", "tune", *LOOKUP[:-1], "--steps", "3000", "--trials", str(n), "--storage", url,
            "--study", "k", "--quiet"]
    victim = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def mid_trial() -> bool:
        try:
            found = trials(url, "k")
        except KeyError:  # the study is not created yet
            return False
        return states(found).get("COMPLETE", 0) + states(found).get("PRUNED", 0) >= 2 and any(
            t.state == TrialState.RUNNING for t in found)

    try:
        _wait_for(mid_trial)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    killed = [t.number for t in trials(url, "k") if t.state == TrialState.RUNNING]
    assert len(killed) == 1
    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    found = trials(url, "k")
    count = states(found)
    assert count.get("COMPLETE", 0) + count.get("PRUNED", 0) == n and "RUNNING" not in count and "WAITING" not in count
    dead = next(t for t in found if t.number == killed[0])
    assert dead.state == TrialState.FAIL
    retry = [t for t in found if t.system_attrs.get("failed_trial") == killed[0]]
    assert len(retry) == 1 and retry[0].params == dead.params and retry[0].state != TrialState.FAIL
    assert f"{n} finished trials of {n} asked" in again.stdout and "retry of #" in again.stdout


def test_two_workers_on_one_sqlite_file_finish_n_trials_none_lost_or_duplicated(tmp_path):
    url, n = f"sqlite:///{tmp_path / 'w.db'}", 8
    argv = [sys.executable, "-m", "core", "tune", *LOOKUP, "--trials", str(n), "--storage", url, "--study", "w"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two workers on two cores: one thread each (docs/tuning.md)
    workers = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1] for o in outputs]
    found = trials(url, "w")
    finished = [t for t in found if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == n  # none lost, none beyond the N asked
    assert len({t.number for t in found}) == len(found)  # no trial number twice
    assert not [t for t in found if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    extra = [t for t in found if t.state == TrialState.FAIL]  # only trials a worker asked for and did not run
    assert all(t.user_attrs.get("note", "").startswith("not run") for t in extra)
    owners = {t.system_attrs["hieralign:process"]["pid"] for t in finished}
    assert owners == {w.pid for w in workers}  # both worked on it
    assert sum(t.user_attrs.get("note") == "defaults" for t in found) == 1  # one creator queued the defaults


def test_trials_that_cannot_train_end_the_call_with_their_reason(tmp_path):
    corpus = load_corpus("synthetic:3x3")  # two hops deep: a far phase from 5 hops has no pair to train on
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with pytest.raises(InputError, match=r"3 trials in a row could not train \(--far-threshold 5: no training pair"):
        tune(corpus, "hr", TuneSettings(trials=5, storage=url, study="f"), encoder="lookup",
             fixed={"steps": 100, "recipe": "pretrain-finetune", "far_threshold": 5})
    found = trials(url, "f")
    assert states(found) == {"FAIL": 3} and all(t.user_attrs["note"].startswith("failed:") for t in found)
