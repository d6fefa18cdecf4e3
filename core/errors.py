"""The one error type users see for bad input: a single line saying what, where, and how to fix it."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input (a corpus file, a built-in name, a model, an option). The CLI prints it as `error: ...` and exits 2."""

    def __init__(self, where: str, problem: str, fix: str):
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(f"{where}: {problem}. Fix: {fix}")
