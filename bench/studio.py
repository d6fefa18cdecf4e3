"""The studio's speed, measured on the engine the app uses (bench/studio_browser.py measures it in a real browser).

    python bench/studio.py

1. A default alignment run on the built-in demo (what the Align page starts: AlignConfig(), the memory method) as a
   background TrainingJob: training seconds, and how often new chart data arrives.
2. Switching pages with a ~20k-document corpus active (wordnet:organism.n.01, 19,448 nodes): the server-side run time
   of each page script under Streamlit's AppTest, after a first visit (the corpus cached).
3. UMAP of 20,000 points (384-d): the first computation, then the cached read.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from core.align.train import AlignConfig
from core.data.builtins import DEMO, load_corpus
from core.embedding.model import limit_threads
from core.studio.jobs import TrainingJob, new_run_dir
from core.studio.maps import cached_map


def default_run(workspace: Path) -> None:
    corpus = load_corpus(DEMO)
    limit_threads()  # as the app does
    config = AlignConfig()
    job = TrainingJob(corpus, config, new_run_dir(workspace, config), workspace=workspace).start()
    job.join()
    events = job.events
    evals = [e["seconds"] for e in events if e["type"] == "eval"]
    done = next(e for e in events if e["type"] == "done")
    gaps = np.diff(evals)
    print(f"| default alignment on {DEMO} (memory, defaults) | {done['seconds']:.1f} s of training | "
          f"new chart data every {statistics.median(gaps):.2f} s (median), {gaps.max():.2f} s (max); "
          f"the page polls every 1 s | target < 60 s, updates <= 2 s |")


def page_switching(workspace: Path) -> None:
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["HIERALIGN_WORKSPACE"] = str(workspace)
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=300)
    at.run()
    at.text_input(key="builtin_typed").input("wordnet:organism.n.01").run()
    times = {}
    assert at.subheader[0].value == "wordnet:organism.n.01", "the 20k corpus must be the active one"
    for page in ("pages/hierarchy.py", "pages/align.py", "pages/runs.py", "pages/corpus.py") * 2:
        t = time.perf_counter()
        at.switch_page(page).run()
        times.setdefault(page, []).append(time.perf_counter() - t)
        assert not at.exception and at.title[0].value.lower() == Path(page).stem
    for page, values in times.items():
        print(f"| switch to {page} with wordnet:organism.n.01 (19,448 nodes) active | {values[-1]:.2f} s | "
              f"second visit; first {values[0]:.2f} s | target < 1 s |")


def umap_speed(workspace: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20_000, 384)).astype(np.float32)
    path = workspace / "map.npy"
    t = time.perf_counter()
    cached_map(path, vectors)
    first = time.perf_counter() - t
    t = time.perf_counter()
    cached_map(path, vectors)
    again = time.perf_counter() - t
    print(f"| UMAP of 20,000 x 384 | {first:.1f} s first | {again * 1000:.0f} ms from the cache | computed once, then instant |")


def main() -> None:
    print("command: python bench/studio.py\n")
    print("| what | result | detail | target |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        default_run(workspace)
        page_switching(workspace)
        umap_speed(workspace)


if __name__ == "__main__":
    main()
