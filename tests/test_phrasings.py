"""New phrasings (`--queries FILE`): rows of id,query checked with their row numbers, scored like held-out queries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.builtins import load_corpus
from core.data.phrasings import load_phrasings, phrasings_from_frame
from core.embedding.vectors import BaseVectors
from core.errors import InputError
from core.evaluation.phrasings import score_phrasings

ROOT = Path(__file__).resolve().parents[1]
TREE = load_corpus("synthetic:3x3")  # 13 nodes: r, r.0..r.2, r.0.0..r.2.2


def test_a_phrasings_file_names_nodes_by_id(tmp_path):
    (tmp_path / "q.csv").write_text("id,query\nr.1.2,the third grandchild of the second child\nr,the root\n")
    phrasings = load_phrasings(tmp_path / "q.csv", TREE)
    assert [TREE.ids[i] for i in phrasings.nodes] == ["r.1.2", "r"]
    assert phrasings.texts == ("the third grandchild of the second child", "the root") and len(phrasings) == 2


@pytest.mark.parametrize("rows, words", [
    ({"id": ["r.0", "r.9"], "query": ["a", "b"]}, ["q.csv, row 2, column 'id'", "unknown id 'r.9'"]),
    ({"id": ["r.0", "r.1"], "query": ["a", "  "]}, ["q.csv, row 2 (id 'r.1'), column 'query'", "empty query"]),
    ({"id": ["r.0"], "text": ["a"]}, ["missing the 'query' column"]),
    ({"id": [], "query": []}, ["no rows"]),
])
def test_a_bad_phrasings_row_is_refused_with_its_row_number(rows, words):
    with pytest.raises(InputError) as e:
        phrasings_from_frame(pd.DataFrame(rows, dtype=str), "q.csv", TREE)
    for word in words:
        assert word in str(e.value)


def test_a_phrasing_at_its_own_document_finds_the_node_and_nothing_above_it():
    """Hand-built vectors: each phrasing sits on its node's document, whose neighbours are unrelated, so zero-shot
    finds the node (distance 0) and no ancestor; link-and-walk walks up from the linked node and finds them all; an
    'aligned' query equal to the sum of its ancestors' documents finds all of them too."""
    docs = np.eye(TREE.n, dtype=np.float32)
    base = BaseVectors(docs[TREE.query_nodes], docs)
    nodes = np.array([TREE.hierarchy.index[i] for i in ("r.0.1", "r.2.2", "r.1")])
    phrasings = phrasings_from_frame(pd.DataFrame({"id": [TREE.ids[i] for i in nodes], "query": ["x", "y", "z"]}),
                                     "q.csv", TREE)
    zero_shot = docs[nodes]
    anc = TREE.hierarchy.ancestors
    aligned = np.stack([docs[anc.of(v)[0]].sum(0) for v in nodes])
    block = score_phrasings(TREE, phrasings, zero_shot, base, (aligned, docs))
    assert block["queries"] == 3 and block["before"]["recall_by_distance"]["0"] == 1.0
    assert block["before"]["recall_by_distance"]["1"] == 0.0
    assert block["reference"]["recall_overall"] == 1.0 and block["after"]["recall_overall"] == 1.0
    assert block["before"]["query_metrics"]["mrr@10"] == 1.0
    assert block["summary"]["vs_before"]["everywhere"] and block["summary"]["vs_reference"]["everywhere"]
    assert {"reference_bm25", "reference_hybrid", "reference_hybrid_walk"} <= set(block)


def run(*argv: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *argv], cwd=cwd, capture_output=True, text=True)


def test_evaluate_scores_new_phrasings_beside_the_references(tmp_path):
    (tmp_path / "q.csv").write_text("id,query\nr.0,node r.0 again\nr.2.1,node r.2.1 said differently\n")
    r = run("evaluate", "synthetic:3x3", "--queries", str(tmp_path / "q.csv"), "--out", str(tmp_path / "zs"),
            "--workspace", str(tmp_path / "ws"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "new phrasings (q.csv, 2 queries, never trained on)" in r.stdout and "MRR@10" in r.stdout
    block = json.loads((tmp_path / "zs" / "metrics.json").read_text())["new_phrasings"]
    assert block["queries"] == 2 and set(block["before"]["pairs_by_distance"]) == {"0", "1", "2"}
    assert block["before"]["pairs_by_distance"]["0"] == 2 and "reference" in block and "after" not in block


def test_align_refuses_a_bad_phrasings_file_in_one_line_before_training(tmp_path):
    (tmp_path / "q.csv").write_text("id,query\nr.0,fine\nnope,bad\n")
    r = run("align", "synthetic:3x3", "--queries", str(tmp_path / "q.csv"), "--out", str(tmp_path / "run"),
            "--workspace", str(tmp_path / "ws"), "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "q.csv, row 2, column 'id': unknown id 'nope'" in r.stderr
    assert not (tmp_path / "run" / "status.json").exists()
    r = run("align", "synthetic:3x3", "--encoder", "lookup", "--queries", str(tmp_path / "q.csv"), "--out",
            str(tmp_path / "run2"), "--quiet")
    assert r.returncode == 2 and "lookup tables cannot encode new text" in r.stderr


def test_a_run_scores_new_phrasings_with_its_trained_encoder(tmp_path):
    from core.align.config import AlignConfig
    from core.runs.alignment import run_alignment
    from core.runs.folder import RunFolder

    rng = np.random.default_rng(0)
    docs = rng.standard_normal((TREE.n, 8)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    base = BaseVectors(docs[TREE.query_nodes], docs)
    phrasings = phrasings_from_frame(pd.DataFrame({"id": ["r.0.0", "r.1"], "query": ["a", "b"]}), "q.csv", TREE)
    vectors = docs[phrasings.nodes]
    result = run_alignment(TREE, AlignConfig(method="hr", encoder="adapter", steps=5), tmp_path / "run", base,
                           phrasings=phrasings, phrasing_vectors=vectors)
    block = RunFolder(tmp_path / "run").metrics["new_phrasings"]
    expected = score_phrasings(TREE, phrasings, vectors, base,
                               (result.encoder.transform(vectors, side="query"), result.docs))
    assert block["after"] == json.loads(json.dumps(expected["after"]))
    assert set(block["summary"]) >= {"vs_before", "vs_reference"}


def test_the_documented_phrasings_error_is_the_real_message(tmp_path):
    page = (ROOT / "docs" / "corpora.md").read_text()
    example = next(line for line in page.splitlines() if line.startswith("error: q.csv"))
    (tmp_path / "q.csv").write_text("id,query\nr.0,fine\nnope,bad\n")
    r = run("evaluate", "synthetic:3x3", "--queries", "q.csv", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == example
