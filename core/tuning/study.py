"""A tuning study: Optuna searches a method's declared space (core/align/config.py `search_space`) on one corpus.

A trial is one training run (core/align/train.py Trainer) of the method's defaults with the sampled options on top.
Its value is the run's own checkpoint score on the VALIDATION queries, the score that picks a run's checkpoint; every
validation evaluation reports the best score so far to Optuna, so a pruner stops hopeless trials early. Held-out
queries are never read here: `run_alignment` scores them once, for the best configuration, after the search.

A study remembers what it was made for (corpus fingerprint, method, encoder, fixed options) and refuses to go on with
anything else. `trials` counts finished trials (complete or pruned) in the study, whoever ran them: a rerun after
Ctrl-C or kill -9, or a second worker, goes on until the study holds that many, and stops there. Base embeddings and
the references are computed once per process and shared by every trial.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import optuna
from optuna.trial import TrialState

from core.align.config import TUNING_EVAL_EVERY, AlignConfig, Dimension, search_space
from core.align.plan import as_base_vectors, plan_run, require_hierarchy
from core.align.train import Trainer
from core.data.corpus import Corpus
from core.errors import InputError
from core.tuning.storage import fail_dead_trials, open_storage, process_identity

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
PRUNERS = ("median", "halving", "none")
MAX_FAILURES = 3  # trials in a row that cannot train (a setting the corpus cannot take) end the call with that error
Callback = Callable[[dict], None]


def no_callback(event: dict) -> None:
    pass


@dataclass(frozen=True)
class TuneSettings:
    trials: int  # finished trials (complete or pruned) the study should hold when this call ends
    timeout: float | None = None  # most seconds this call searches (None: no limit); finished trials are kept
    storage: str | None = None  # SQLAlchemy URL (None: sqlite:///<workspace>/studies.db)
    study: str | None = None  # study name (None: "<corpus> <method>/<encoder>")
    seed: int = 0  # seeds the sampler; a resumed study or a second worker draws a different stream
    pruner: str = "median"  # median (below the median of earlier trials at the same step) | halving | none
    workspace: str | None = None  # where the default SQLite file lives (None: ./workspace or $HIERALIGN_WORKSPACE)

    def validate(self) -> TuneSettings:
        if not isinstance(self.trials, int) or isinstance(self.trials, bool) or self.trials < 1:
            raise InputError(f"--trials {self.trials!r}", "must be a whole number of at least 1", "give e.g. --trials 30")
        if self.timeout is not None and not (isinstance(self.timeout, int | float) and math.isfinite(self.timeout)
                                             and self.timeout > 0):
            raise InputError(f"--timeout {self.timeout!r}", "must be a positive number of seconds", "give e.g. --timeout 300")
        if self.pruner not in PRUNERS:
            raise InputError(f"--pruner {self.pruner}", f"must be one of {', '.join(PRUNERS)}", "use --pruner median")
        return self


@dataclass
class TuneResult:
    study: optuna.Study
    finished: int  # complete + pruned trials the study holds now
    best_config: AlignConfig | None  # the best trial's configuration (None before any trial completed)
    best_value: float | None  # its validation score
    stopped: bool  # a stop request or the timeout ended this call before the study held `trials` finished trials
    seconds: float


# --- what a study searches -------------------------------------------------------------------------------------------


def base_config(method: str, encoder: str | None, fixed: dict) -> AlignConfig:
    """The configuration every trial starts from: the method's defaults, the options the user fixed, and the tuning
    evaluation interval (so that trials report at the same steps and a pruner can compare them)."""
    unknown = sorted(set(fixed) - {f.name for f in fields(AlignConfig)})
    if unknown:
        raise InputError(f"option {unknown[0]}", "is not a training option", "see python -m core align --help")
    for name in ("method", "encoder"):
        if name in fixed:
            raise InputError(f"fixed option {name}", "is given on its own", f"pass it as --{name}")
    config = AlignConfig(method=method, encoder=encoder, **fixed).resolved()  # every option checked here
    if "eval_every" not in fixed:
        config = replace(config, eval_every=TUNING_EVAL_EVERY[config.encoder])
    return config


def searched_dimensions(config: AlignConfig, fixed: dict) -> dict[str, Dimension]:
    """The method's space less the options the user fixed; an InputError when nothing is left to search."""
    space = {k: d for k, d in search_space(config.method, config.encoder).items() if k not in fixed}
    if not space:
        raise InputError(f"--method {config.method} --encoder {config.encoder}",
                         "has nothing left to search: every option of its space is fixed",
                         "leave some of " + ", ".join(search_space(config.method, config.encoder)) + " unset")
    return space


def fit_to_corpus(space: dict[str, Dimension], corpus: Corpus) -> dict[str, Dimension]:
    """Narrow what depends on the corpus's shape: the far phase's threshold cannot pass the deepest ancestor."""
    far = space.get("far_threshold")
    if far is not None:
        deepest = int(corpus.hierarchy.ancestors.sizes().max(initial=1)) - 1  # hops from a node to its root
        space = dict(space)
        if deepest < far.low:  # no pair is far: the far-pair recipe cannot run on this corpus
            space = {k: d for k, d in space.items() if d.when != far.when and k != "recipe"}
        else:
            space["far_threshold"] = replace(far, high=min(far.high, deepest))
    return space


def active(dimension: Dimension, chosen: dict, config: AlignConfig) -> bool:
    """Whether a conditional option matters given what is chosen so far (or fixed in `config`)."""
    if dimension.when is None:
        return True
    option, allowed = dimension.when
    return chosen.get(option, getattr(config, option)) in allowed


def suggest(trial: optuna.Trial, space: dict[str, Dimension], config: AlignConfig) -> dict:
    """Sample the trial's options, in declaration order so that a condition is settled before what depends on it."""
    chosen: dict = {}
    for name, d in space.items():
        if not active(d, chosen, config):
            continue
        if d.kind == "float":
            chosen[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
        elif d.kind == "int":
            chosen[name] = trial.suggest_int(name, int(d.low), int(d.high), step=1 if d.log else d.step, log=d.log)
        else:
            chosen[name] = trial.suggest_categorical(name, list(d.choices))
    return chosen


def default_params(space: dict[str, Dimension], config: AlignConfig) -> dict:
    """The defaults' values of the searched options (active ones only): the study's first trial, its baseline."""
    chosen: dict = {}
    for name, d in space.items():
        if active(d, chosen, config) and d.contains(getattr(config, name)):  # e.g. far_steps None: sampled instead
            chosen[name] = getattr(config, name)
    return chosen


# --- the study -------------------------------------------------------------------------------------------------------


def identity(corpus: Corpus, config: AlignConfig, fixed: dict) -> dict:
    from core.runs.folder import corpus_hash

    return {"corpus": corpus.name, "corpus_hash": corpus_hash(corpus), "method": config.method,
            "encoder": config.encoder, "fixed": json.loads(json.dumps(fixed, sort_keys=True))}


def open_study(corpus: Corpus, config: AlignConfig, fixed: dict, space: dict[str, Dimension],
               settings: TuneSettings) -> tuple[optuna.Study, bool]:
    """Create the study, or load it after checking it was made for this corpus, method, encoder and fixed options.
    Only the process that creates it queues the defaults as its first trial (two workers starting at once agree).
    Returns (study, whether this call created it)."""
    storage = open_storage(settings.storage, settings.workspace)
    name = settings.study or f"{corpus.name} {config.method}/{config.encoder}"
    want = identity(corpus, config, fixed)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own lines say what each trial did
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage)
        for _ in range(50):  # the creator writes its identity right after creating the study
            if "hieralign" in study.user_attrs:
                break
            time.sleep(0.1)
        have = study.user_attrs.get("hieralign")
        if have is None:
            raise InputError(f"--study {name}", "exists in that storage but was not made by hieralign tune",
                             "give another --study name") from None
        for key in ("corpus_hash", "method", "encoder", "fixed"):
            if have.get(key) != want[key]:
                what = {"corpus_hash": f"corpus {have.get('corpus')} (another corpus or another version of it)",
                        "method": f"method {have.get('method')}", "encoder": f"encoder {have.get('encoder')}",
                        "fixed": f"fixed options {have.get('fixed')}"}[key]
                raise InputError(f"--study {name}", f"was created for {what}, not this one",
                                 "give another --study name, or rerun it with the settings it was made with") from None
        return study, False
    except Exception as e:
        if isinstance(e, InputError):
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"--storage {settings.storage or 'workspace/studies.db'}", f"cannot hold a study ({first})",
                         "check the URL and that the database accepts writes") from None
    study.set_user_attr("hieralign", want)
    study.set_user_attr("base_config", asdict(config))
    study.enqueue_trial(default_params(space, config), user_attrs={"note": "defaults"})
    return study, True


def finished_count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def study_config(study: optuna.Study, params: dict) -> AlignConfig:
    """The configuration a trial of this study trained (its base configuration with the trial's options)."""
    return AlignConfig(**{**study.user_attrs["base_config"], **params})


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def make_pruner(name: str, eval_every: int) -> optuna.pruners.BasePruner:
    if name == "median":  # five trials first, and never before a trial has been evaluated twice
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2 * eval_every)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=2 * eval_every, reduction_factor=3)
    return optuna.pruners.NopPruner()


class _Surplus(Exception):
    """The study already holds (or is running) enough trials: this one is not run."""


class _Stopped(Exception):
    """A stop request ended the trial before it finished."""


def tune(corpus: Corpus, method: str, settings: TuneSettings, *, encoder: str | None = None, fixed: dict | None = None,
         base=None, callback: Callback = no_callback, stop: threading.Event | None = None) -> TuneResult:
    """Run the study until it holds `settings.trials` finished trials, the timeout passes or `stop` is set.

    `base` is the base model's (queries, docs) vectors for text encoders. Events to `callback`: every trainer event
    of the running trial with its "trial" number, and {"type": "trial", ...} when a trial ends."""
    fixed = dict(fixed or {})
    settings.validate()
    config = base_config(method, encoder, fixed)
    space = fit_to_corpus(searched_dimensions(config, fixed), corpus)
    require_hierarchy(corpus)
    base = as_base_vectors(base)
    stop = stop or threading.Event()
    study, created = open_study(corpus, config, fixed, space, settings)
    t0 = time.perf_counter()
    shared = {"references": None, "failures": 0, "failure": None}

    def objective(trial: optuna.Trial) -> float:
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, "hieralign:process", process_identity())
        earlier = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if t.number < trial.number]
        if finished_count(study) + len(earlier) >= settings.trials:
            trial.set_user_attr("note", f"not run: the study already held or was running {settings.trials} trials")
            raise _Surplus
        params = suggest(trial, space, config)
        run_config = replace(config, **params)
        plan = plan_run(corpus, run_config, base, references=shared["references"])
        shared["references"] = plan.references
        trial_stop, state = threading.Event(), {"best": -math.inf, "pruned_at": None}

        def on_event(event: dict) -> None:
            if stop.is_set():
                trial_stop.set()
            if event["type"] == "eval":
                state["best"] = max(state["best"], event["score"])
                trial.report(state["best"], event["step"])
                if trial.should_prune():
                    state["pruned_at"] = event["step"]
                    trial_stop.set()
            callback({**event, "trial": trial.number})

        try:
            result = Trainer(plan, on_event, trial_stop).run()
        except InputError as e:  # a combination the corpus cannot train (recorded; the study goes on)
            trial.set_user_attr("note", f"failed: {e}")
            raise
        trial.set_user_attr("seconds", round(result.seconds, 2))
        trial.set_user_attr("best_step", result.best_step)
        if state["pruned_at"] is not None:
            raise optuna.TrialPruned(f"at step {state['pruned_at']}")
        if result.stopped:
            trial.set_user_attr("note", "stopped")
            raise _Stopped
        return state["best"]

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        fail_dead_trials(study)
        note = trial.user_attrs.get("note") or ""
        shared["failures"] = shared["failures"] + 1 if note.startswith("failed:") else 0
        if shared["failures"]:
            shared["failure"] = note
        done = finished_count(study)
        best = best_trial(study)
        callback({"type": "trial", "number": trial.number, "state": trial.state.name, "value": trial.value,
                  "params": trial.params, "note": trial.user_attrs.get("note"), "finished": done,
                  "best_value": None if best is None else best.value, "best_number": None if best is None else best.number,
                  "seconds": time.perf_counter() - t0})
        if done >= settings.trials or stop.is_set() or note.startswith("not run") or shared["failures"] >= MAX_FAILURES:
            study.stop()

    fail_dead_trials(study)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # the creator draws the seeded stream; a resumed study or a second worker another one, so workers never
        # draw the same options
        seed = settings.seed if created else settings.seed + 1000 * len(study.trials) + os.getpid()
        study.sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=8)
    study.pruner = make_pruner(settings.pruner, config.eval_every)
    while finished_count(study) < settings.trials and not stop.is_set():
        if shared["failures"] >= MAX_FAILURES:
            raise InputError(f"study {study.study_name!r}", f"{MAX_FAILURES} trials in a row could not train "
                             f"({shared['failure'].removeprefix('failed: ')})",
                             "fix the options given, or fix the corpus; the finished trials are kept")
        remaining = None if settings.timeout is None else settings.timeout - (time.perf_counter() - t0)
        if remaining is not None and remaining <= 0:
            break
        others = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if finished_count(study) + len(others) >= settings.trials:  # other workers are finishing the study: wait
            time.sleep(1.0)
            optuna.storages.fail_stale_trials(study)
            fail_dead_trials(study)
            continue
        study.optimize(objective, timeout=remaining, callbacks=[after_trial], catch=(_Surplus, _Stopped, InputError),
                       gc_after_trial=False)
    best = best_trial(study)
    done = finished_count(study)
    return TuneResult(study, done, None if best is None else study_config(study, best.params),
                      None if best is None else best.value, done < settings.trials, time.perf_counter() - t0)


# --- reading a study -------------------------------------------------------------------------------------------------


def trials_frame(study: optuna.Study):
    """One row per trial: number, state, validation score, seconds, where it was pruned, note, then its options."""
    import pandas as pd

    rows = []
    for t in study.get_trials(deepcopy=False):
        pruned_at = max(t.intermediate_values) if t.state == TrialState.PRUNED and t.intermediate_values else None
        retry = t.system_attrs.get("failed_trial")
        note = t.user_attrs.get("note") or (f"retry of #{retry}" if retry is not None else "")
        rows.append({"trial": t.number, "state": t.state.name.lower(), "validation": t.value,
                     "best so far": None, "seconds": t.user_attrs.get("seconds"), "pruned at": pruned_at,
                     "note": note, **t.params})
    frame = pd.DataFrame(rows)
    if len(frame):
        scores = frame["validation"].where(frame["state"] == "complete")
        frame["best so far"] = scores.cummax()
    return frame


def best_so_far(study: optuna.Study) -> tuple[np.ndarray, np.ndarray]:
    """(trial numbers, best validation score up to each) of the complete trials: the live best line."""
    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    return (np.array([t.number for t in complete]),
            np.maximum.accumulate(np.array([t.value for t in complete], dtype=float)) if complete else np.array([]))
