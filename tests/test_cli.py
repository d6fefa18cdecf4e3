from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from core.data.builtins import load_corpus
from core.data.files import load_corpus_file
from tests.conftest import ROOT


def run(*argv: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True, env=env)


def test_info_json_counts_mammals():
    r = run("info", "wordnet:mammal.n.01", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["nodes"] == 1182 and info["documents"] == 1182 and info["roots"] == 1
    assert info["ancestor_pairs"] == 7724 and info["max_depth"] == 9 and info["multi_parent_nodes"] == 1


def test_evaluate_writes_metrics_json(tmp_path):
    r = run("evaluate", "synthetic:4x5", "--model", "gaussian:256", "--out", str(tmp_path), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "overall" in r.stdout and "100.0%" in r.stdout
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["recall_by_distance"] == {"0": 1.0, "1": 1.0, "2": 1.0, "3": 1.0}
    assert m["pairs_by_distance"] == {"0": 156, "1": 155, "2": 150, "3": 125}
    assert m["recall_overall"] == 1.0 and m["recall_min"] == 1.0
    for key in ("recall_by_distance", "recall_overall", "recall_min", "pairs_by_distance"):
        assert key in m["heldout"]
    assert m["heldout"]["queries"] == 31  # 20% of 156
    assert set(m["levels"]) == {"1", "2"}


def test_evaluate_counts_documents_as_info_does(tmp_path):
    corpus = tmp_path / "p.csv"  # 3 rows (documents) under 4 label nodes
    corpus.write_text("id,text,path\n1,rockets,sci/space\n2,stars,sci/space\n3,cpus,comp/hw\n")
    info = json.loads(run("info", str(corpus), "--json").stdout)
    assert (info["documents"], info["label_nodes"]) == (3, 4)
    r = run("evaluate", str(corpus), "--model", "gaussian:16", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "3 documents and 4 label nodes" in r.stdout.splitlines()[0]


def test_evaluate_with_minilm_on_a_small_file(tmp_path, workspace):
    corpus = tmp_path / "c.csv"
    corpus.write_text("id,text,query,parents\nanimal,an animal,animal,\ndog,a dog,dog,animal\ncat,a cat,cat,animal\n")
    env = {**__import__("os").environ, "HIERALIGN_WORKSPACE": str(workspace)}
    r = run("evaluate", str(corpus), "--out", str(tmp_path / "out"), "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["pairs_by_distance"] == {"0": 3, "1": 2}
    assert m["model"] == "all-MiniLM-L6-v2"
    assert len(list((workspace / "cache" / "embeddings").glob("*.npy"))) == 2


def test_export_builtin_round_trips(tmp_path):
    r = run("export", "synthetic:3x3", "--out", str(tmp_path / "s.jsonl"))
    assert r.returncode == 0, r.stderr
    assert load_corpus_file(tmp_path / "s.jsonl").same_content(load_corpus("synthetic:3x3"))


def test_no_core_module_imports_streamlit():
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] == "streamlit"], path
    code = "import sys, pkgutil, importlib, core\n" \
           "[importlib.import_module(m.name) for m in pkgutil.walk_packages(core.__path__, 'core.') if m.name != 'core.__main__']\n" \
           "print('streamlit' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


@pytest.mark.parametrize("options, message", [
    (["--method", "kmeans", "--branching", "1"], "--branching 1: a tree needs at least 2 children per node"),
    (["--method", "hnmfk", "--depth", "0"], "--depth 0: a hierarchy needs at least one level below the root"),
    (["--method", "hnmfk", "--perturbations", "0"], "HNMFk option perturbations=0: must be a whole number"),
    (["--levels", "7,x"], "--levels 7,x: not a comma-separated list of whole numbers"),
    (["--levels", "20,7"], "levels 20,7: each level must have more topics than the one above it"),
    (["--method", "hnmfk", "--levels", "7,20"], "--levels with --method hnmfk: HNMFk chooses its own topic counts"),
    (["--word-weight", "-1"], "--word-weight -1.0: the word view's weight must be a number of at least 0"),
    (["--method", "hnmfk", "--word-weight", "0.5"], "--word-weight with --method hnmfk: HNMFk clusters the words"),
])
def test_hierarchy_options_that_cannot_make_a_tree_are_refused_in_one_line(tmp_path, options, message):
    out = tmp_path / "out.csv"
    r = run("hierarchy", "synthetic:3x3", "--out", str(out), "--quiet", *options)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_hnmfk_config_checks_every_field():
    from core.discovery.hnmfk import HNMFkConfig
    from core.errors import InputError

    for bad in (dict(k_min=1), dict(k_max=1), dict(k_min=5, k_max=3), dict(epsilon=1.5), dict(threshold=2.0),
                dict(init="magic"), dict(max_depth=0), dict(min_docs=True)):
        with pytest.raises(InputError):
            HNMFkConfig(**bad)
    assert HNMFkConfig().k_max == 10  # the defaults pass


def test_the_documented_error_example_is_the_real_message(tmp_path):
    page = (ROOT / "docs" / "corpora.md").read_text()
    example = next(line for line in page.splitlines() if line.startswith("error: dup.csv"))
    (tmp_path / "dup.csv").write_text("id,text\na,x\nb,y\na,z\n")
    r = subprocess.run([sys.executable, "-m", "core", "info", "dup.csv"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == example


def test_hierarchy_with_levels_writes_the_sizes_asked_for(tmp_path):
    out = tmp_path / "found.csv"
    r = run("hierarchy", "synthetic:3x3", "--levels", "2,4", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "levels 2 / 4" in r.stdout
    from core.data.files import load_corpus_file

    found = load_corpus_file(out)
    depth = found.hierarchy.depth[~found.is_row]
    assert (depth == 0).sum() == 2 and (depth == 1).sum() == 4


def test_align_refuses_a_corpus_with_no_hierarchy_in_one_line_pointing_to_discovery(tmp_path):
    (tmp_path / "flat.csv").write_text("id,text\na,one thing\nb,another\n")
    r = run("align", str(tmp_path / "flat.csv"), "--out", str(tmp_path / "run"), "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "has no hierarchy" in r.stderr and "python -m core hierarchy" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "status.json").exists()


def test_wordnet_synonyms_are_queries_their_documents_do_not_contain():
    """The new-phrasing built-in: a synset's document is its head lemma and definition; its query is another lemma of
    the synset that the document does not contain; the hierarchy is WordNet's."""
    from core.data.builtins import load_corpus, mentions

    plain, synonyms = load_corpus("wordnet:mammal.n.01"), load_corpus("wordnet-synonyms:mammal.n.01")
    assert synonyms.hierarchy == plain.hierarchy and synonyms.name == "wordnet-synonyms:mammal.n.01"
    dog = synonyms.hierarchy.index["dog.n.01"]
    assert plain.texts[dog].startswith("dog, domestic dog, Canis familiaris: ")
    assert synonyms.texts[dog] == "dog: " + plain.texts[dog].partition(": ")[2]
    assert synonyms.queries[dog] == "domestic dog"
    nodes = synonyms.query_nodes
    assert 600 < len(nodes) < len(plain.query_nodes)  # synsets with a single lemma get no query
    assert not any(mentions(synonyms.texts[i], synonyms.queries[i]) for i in nodes)
    assert all(synonyms.queries[i] in plain.texts[i].partition(": ")[0].split(", ")[1:] for i in nodes)
    assert mentions("Dog: a canine", "dog") and not mentions("hotdog stand", "dog")
    r = run("info", "wordnet-synonyms:mamal.n.01")
    assert r.returncode == 2 and "wordnet-synonyms:mammal.n.01" in r.stderr
