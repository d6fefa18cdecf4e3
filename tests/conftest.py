from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A private workspace per test, so caches and runs never leak between tests or into ./workspace."""
    ws = tmp_path / "workspace"
    monkeypatch.setenv("HIERALIGN_WORKSPACE", str(ws))
    return ws


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
