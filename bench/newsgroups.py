"""20 Newsgroups (by-date split) from ../shared/data, read straight from the tarball, as a hieralign corpus.

Group names become label paths (comp.sys.ibm.pc.hardware -> comp/sys/ibm/pc/hardware). Headers (everything before the
first blank line) are stripped and each post is cut to its first `max_chars` characters. Posts that are empty after
that are dropped. The data is never copied into the project.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.corpus import Corpus, corpus_from_frame

TARBALL = Path(__file__).resolve().parents[2] / "shared" / "data" / "20news-bydate.tar.gz"


def available() -> bool:
    return TARBALL.exists()


def subject(raw: str) -> str:
    """The post's Subject header, '' when it is missing or a reply ('Re: ...': its wording belongs to another post)."""
    for line in raw.split("\n\n", 1)[0].splitlines():
        if line.lower().startswith("subject:"):
            text = " ".join(line.split(":", 1)[1].split())
            return "" if text.lower().startswith("re:") else text
    return ""


def load_newsgroups(split: str = "train", sample: int | None = None, seed: int = 0, max_chars: int = 1000,
                    subjects: bool = False) -> Corpus:
    """Posts as a path corpus; with subjects=True each post's Subject line (replies excepted) is its query."""
    rows = []
    with tarfile.open(TARBALL, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 4 or not parts[1].endswith(split):
                continue
            raw = tar.extractfile(member).read().decode("latin-1")
            body = raw.split("\n\n", 1)[1] if "\n\n" in raw else raw
            body = " ".join(body.split())[:max_chars]
            if body:
                row = {"id": f"{parts[2]}/{parts[3]}", "text": body, "path": parts[2].replace(".", "/")}
                if subjects:
                    row["query"] = subject(raw)
                rows.append(row)
    frame = pd.DataFrame(rows).sort_values("id").reset_index(drop=True)
    if sample is not None and sample < len(frame):
        frame = frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), sample, replace=False))].reset_index(drop=True)
    return corpus_from_frame(frame, f"20newsgroups-{split}" + (f"-{sample}" if sample else "") + ("-subjects" if subjects else ""))


def gold_labels(corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """(top-level group, newsgroup) label of every row: e.g. comp and comp.sys.ibm.pc.hardware."""
    rows = np.flatnonzero(corpus.is_row)
    groups = [corpus.ids[i].split("/")[0] for i in rows]
    return np.array([g.split(".")[0] for g in groups]), np.array(groups)
