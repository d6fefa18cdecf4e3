"""Hyperparameter studies: Optuna searches a method's declared space on one corpus, trials scored on validation queries.

Owns the study (study.py: the objective, pruning reports, what a study was made for, exactly-N bookkeeping across
workers, the trials table) and its storage (storage.py: Optuna's RDB storage, SQLite in the workspace by default, with
heartbeats and retries of trials whose process died). Never reads held-out queries.
May import: core.errors, core.atomic, core.data, core.embedding, core.evaluation, core.align, core.runs.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data", "core.embedding", "core.evaluation", "core.align", "core.runs")  # checked by tests/test_layout.py

from core.tuning.storage import default_storage_url, open_storage  # noqa: E402
from core.tuning.study import TuneResult, TuneSettings, best_so_far, study_config, trials_frame, tune  # noqa: E402

__all__ = ["TuneResult", "TuneSettings", "best_so_far", "default_storage_url", "open_storage", "study_config",
           "trials_frame", "tune"]
