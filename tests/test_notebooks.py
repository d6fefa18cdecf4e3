"""Every notebook runs top to bottom in its small mode (HIERALIGN_SMALL=1) without an error."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, workspace, monkeypatch):
    monkeypatch.setenv("HIERALIGN_SMALL", "1")
    nb = nbformat.read(path, as_version=4)
    # run from the notebooks' own folder with no path tricks: `core` comes from the editable install (make test)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("plotly" in str(o.get("data", {})) for o in outputs)  # the figures were produced
    if "LiveTrainingChart" in "".join(cell.source for cell in nb.cells):
        assert any("widget-view" in str(o.get("data", {})) for o in outputs)  # the live chart is a widget
