from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.data.builtins import load_corpus
from core.data.files import load_corpus_file, save_corpus
from core.errors import InputError
from tests.conftest import ROOT, write

PARENTS_CSV = 'id,text,query,parents\nr,root text,,\na,"a text, with comma",find a,r\nb,b text,,r\nc,"c text\nover two lines",find c,a|b\n'
PATH_CSV = "id,text,path\n1,about rockets,sci/space\n2,about stars,sci/space\n3,about cpus,comp/hardware\n4,just a note,\n"


def test_parents_csv_is_a_dag(tmp_path):
    c = load_corpus_file(write(tmp_path / "c.csv", PARENTS_CSV))
    assert c.ids == ("r", "a", "b", "c")
    assert c.hierarchy.parents(3).tolist() == [1, 2]
    assert c.texts[3] == "c text\nover two lines"
    assert c.queries == ("", "find a", "", "find c")
    assert c.query_nodes.tolist() == [1, 3]
    assert c.query_texts() == ["find a", "find c"]
    assert c.stats()["multi_parent_nodes"] == 1


def test_path_csv_makes_label_nodes(tmp_path):
    c = load_corpus_file(write(tmp_path / "p.csv", PATH_CSV))
    assert c.n_rows == 4 and c.n == 8  # 4 rows + sci, sci/space, comp, comp/hardware
    h = c.hierarchy
    assert h.ids[h.parents(0)[0]] == "sci/space"
    assert c.texts[h.index["sci/space"]] == "sci / space"  # the whole path: a lone "misc" would name several labels
    assert h.parents(3).tolist() == []  # empty path: a root row
    assert h.is_tree
    assert c.query_nodes.tolist() == [0, 1, 2, 3]  # no query column: every row queries with its text


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.jsonl", "out.parquet", "out.tsv.gz", "out.csv.gz"])
@pytest.mark.parametrize("source", [PARENTS_CSV, PATH_CSV])
def test_round_trip_is_exact(tmp_path, name, source):
    original = load_corpus_file(write(tmp_path / "in.csv", source))
    path = save_corpus(original, tmp_path / name)
    again = load_corpus_file(path)
    assert again.same_content(original)


def test_builtin_round_trips_through_export(tmp_path):
    original = load_corpus("wordnet:mammal.n.01")
    again = load_corpus_file(save_corpus(original, tmp_path / "mammal.tsv.gz"))
    assert again.same_content(original)


def test_jsonl_accepts_numbers_and_parent_lists(tmp_path):
    rows = [{"id": 1, "text": "root"}, {"id": 2, "text": "child", "parents": [1]}, {"id": 3, "text": "leaf", "parents": "2"}]
    path = write(tmp_path / "c.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    c = load_corpus_file(path)
    assert c.ids == ("1", "2", "3")
    assert c.hierarchy.depth.tolist() == [0, 1, 2]
    rows = [{"id": 1.5, "text": "x", "query": True}, {"id": -2, "text": {"a": 1}, "query": False}]
    c = load_corpus_file(write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n"))
    assert c.ids == ("1.5", "-2") and c.queries == ("true", "false") and c.texts == ("x", '{"a": 1}')


def test_parquet_and_ids_stay_strings(tmp_path):
    pd.DataFrame({"id": ["007", "08"], "text": ["x", "y"], "parents": ["", "007"]}).to_parquet(tmp_path / "c.parquet")
    c = load_corpus_file(tmp_path / "c.parquet")
    assert c.ids == ("007", "08")
    c = load_corpus_file(write(tmp_path / "c.csv", "id,text\n007,x\n"))
    assert c.ids == ("007",)


def test_folder_of_text_files(tmp_path):
    (tmp_path / "sci" / "space").mkdir(parents=True)
    (tmp_path / "comp").mkdir()
    write(tmp_path / "sci" / "space" / "a.txt", "rockets\n")
    write(tmp_path / "comp" / "b.txt", "cpus")
    write(tmp_path / "top.txt", "no label")
    write(tmp_path / "image.png", "not text")  # skipped: not a text file
    c = load_corpus_file(tmp_path)
    assert c.n_rows == 3
    h = c.hierarchy
    assert h.ids[h.parents(h.index["sci/space/a.txt"])[0]] == "sci/space"
    assert c.texts[h.index["sci/space/a.txt"]] == "rockets"
    assert h.parents(h.index["top.txt"]).tolist() == []


def test_a_file_without_ids_numbers_its_rows_unless_parents_need_them(tmp_path):
    (tmp_path / "posts.csv").write_text("query,text\nwhy rockets,rockets fly\n,boats float\n")
    c = load_corpus_file(tmp_path / "posts.csv")
    assert list(c.hierarchy.ids) == ["1", "2"] and c.texts == ("rockets fly", "boats float")
    assert c.query_texts() == ["why rockets"]
    (tmp_path / "paths.csv").write_text("text,path\nrockets fly,sci/space\n")
    c = load_corpus_file(tmp_path / "paths.csv")
    assert c.hierarchy.ids[c.hierarchy.parents(c.hierarchy.index["1"])[0]] == "sci/space"


# Every bad input: (file name, content bytes, words the one-line message must contain)
BAD = [
    ("empty.csv", b"", ["empty.csv", "empty"]),
    ("header_only.csv", b"id,text\n", ["no rows"]),
    ("no_text.csv", b"id,body\n1,x\n", ["missing the 'text' column"]),
    ("no_id.csv", b"text,parents\nx,\n", ["missing the 'id' column", "'parents' refers to rows by id"]),
    ("dup.csv", b"id,text\na,x\nb,y\na,z\n", ["row 3", "duplicate id 'a'", "row 1"]),
    ("unknown_parent.csv", b"id,text,parents\na,x,\nb,y,zz\n", ["row 2", "'parents'", "unknown parent id 'zz'"]),
    ("cycle.csv", b"id,text,parents\na,x,c\nb,y,a\nc,z,b\n", ["cycle", "'a'", "'b'", "'c'"]),
    ("both.csv", b"id,text,parents,path\na,x,,s\n", ["both a 'parents' and a 'path' column"]),
    ("empty_text.csv", b"id,text\na,x\nb,  \n", ["row 2", "(id 'b')", "'text'", "empty text"]),
    ("latin1.csv", "id,text\na,caf\u00e9\n".encode("latin-1"), ["latin1.csv, line 2", "not valid UTF-8"]),
    ("corpus.xlsx", b"whatever", ["unknown format '.xlsx'"]),
    ("bad.jsonl", b'{"id": "a", "text": "x"}\n{oops\n', ["line 2", "not valid JSON"]),
    ("label_clash.csv", b"id,text,path\nsci,x,sci\n", ["'sci' is also used as a row id"]),
]


@pytest.mark.parametrize("name, content, words", BAD, ids=[b[0] for b in BAD])
def test_bad_files_give_one_line_errors_and_change_nothing(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    with pytest.raises(InputError) as e:
        load_corpus_file(path)
    message = str(e.value)
    assert "\n" not in message and "Fix:" in message
    for word in words:
        assert word in message
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert path.read_bytes() == content


@pytest.mark.parametrize("spec, words", [
    ("wordnet:no_such.n.01", ["no such WordNet noun synset"]),
    ("wordnet:mammal.n.1", ["did you mean wordnet:mammal.n.01"]),
    ("synthetic:4by5", ["synthetic:HxW"]),
    ("sinthetic:4x5", ["unknown built-in corpus kind 'sinthetic'"]),
    ("icd10cm:full", ["no such ICD-10-CM built-in", "icd10cm:demo"]),
    ("/no/such/file.csv", ["no such file or folder"]),
])
def test_bad_builtin_names(spec, words):
    with pytest.raises(InputError) as e:
        load_corpus(spec)
    for word in words:
        assert word in str(e.value)


def test_cli_reports_bad_input_on_stderr_with_exit_code_2(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_bytes(b"id,text\na,x\na,y\n")
    for argv in (["info", str(path)], ["evaluate", str(path)], ["export", str(path), "--out", str(tmp_path / "o.csv")],
                 ["info", "wordnet:nope.n.01"]):
        r = subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
        assert "Traceback" not in r.stderr and r.stdout == ""
    assert not (tmp_path / "o.csv").exists()


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    c = load_corpus_file(write(tmp_path / "in.csv", PATH_CSV))
    target = tmp_path / "out" / "c.csv.gz"
    save_corpus(c, target)
    assert gzip.decompress(target.read_bytes()).decode().startswith("id,text,path")
    assert os.listdir(target.parent) == ["c.csv.gz"]
    with pytest.raises(InputError, match="cannot write format"):
        save_corpus(c, tmp_path / "out" / "c.xlsx")
    assert os.listdir(target.parent) == ["c.csv.gz"]


def test_large_file_loads(tmp_path):
    # 20k rows with a 3-level path: a correctness check at size (the 100k timing is in `python -m core bench`)
    n = 20_000
    paths = [f"g{i % 7}/s{i % 31}" for i in range(n)]
    pd.DataFrame({"id": np.arange(n).astype(str), "text": [f"doc {i}" for i in range(n)], "path": paths}).to_csv(
        tmp_path / "big.csv", index=False)
    c = load_corpus_file(tmp_path / "big.csv")
    labels = {p.split("/")[0] for p in paths} | set(paths)
    assert c.n_rows == n and c.n == n + len(labels)
    assert c.hierarchy.max_depth == 2


OBO = '''format-version: 1.2
ontology: tiny

[Term]
id: T:1
name: disease
def: "Any \\"abnormal\\" condition." [ref:1]

[Term]
id: T:2
name: heart disease
def: "A disease of the heart." []
synonym: "cardiac disease" EXACT []
synonym: "heart disease" EXACT layperson []
synonym: "cardiopathy" RELATED []
is_a: T:1 ! disease

[Term]
id: T:3
name: valve disease
synonym: "disease of the heart valve" EXACT []
synonym: "valvulopathy" EXACT []
is_a: T:2 ! heart disease
is_a: X:9 ! outside this file

[Term]
id: T:4
name: old term
is_obsolete: true
is_a: T:1

[Typedef]
id: part_of
name: part of
'''


def test_an_obo_ontology_loads_as_a_dag_queried_by_synonyms_its_documents_lack(tmp_path):
    path = tmp_path / "tiny.obo"
    path.write_text(OBO)
    corpus = load_corpus(str(path))
    assert corpus.ids == ("T:1", "T:2", "T:3")  # the obsolete term and the Typedef are left out
    assert corpus.texts == ('disease: Any "abnormal" condition.', "heart disease: A disease of the heart.",
                            "valve disease")
    # T:2's first EXACT synonym is not in its document; T:3's first one contains words of it but not the phrase
    assert corpus.queries == ("", "cardiac disease", "disease of the heart valve")
    h = corpus.hierarchy
    assert [h.ids[p] for p in h.parents(h.index["T:3"])] == ["T:2"] and corpus.extra["obo_links_dropped"] == 1
    (tmp_path / "empty.obo").write_text("format-version: 1.2\n")
    with pytest.raises(InputError, match="holds no \\[Term\\]"):
        load_corpus(str(tmp_path / "empty.obo"))


def test_icd10cm_demo_is_a_three_level_tree_of_code_descriptions():
    """The document-side demo: every row a diagnosis code under chapter / block / category, the code's prefix agreeing
    with its category, several codes per category (so the finest level can regroup), and the public-domain notice
    shipped beside it."""
    from core.data.builtins import ICD10CM_FILE, load_corpus

    corpus = load_corpus("icd10cm:demo")
    assert corpus.name == "icd10cm:demo" and corpus.hierarchy.is_tree
    rows = np.flatnonzero(corpus.is_row)
    assert len(rows) == 2092 and (corpus.queries is None or not any(corpus.queries))
    labels = corpus.hierarchy.level_labels()
    assert labels.shape[1] == 4  # chapter, block, category, the code itself
    chapters, categories = labels[rows, 0], labels[rows, 2]
    assert len(np.unique(chapters)) == 21 and len(np.unique(categories)) == 300
    assert np.bincount(np.unique(categories, return_inverse=True)[1]).min() >= 3
    for i in rows[::97]:
        category_path = corpus.ids[categories[np.flatnonzero(rows == i)[0]]]  # e.g. chapter 1/A00-A09/A03
        assert corpus.ids[i].split(".")[0] == category_path.rsplit("/", 1)[-1] and corpus.texts[i].strip()
    notice = " ".join(ICD10CM_FILE.with_name("ICD10CM_NOTICE.txt").read_text().split())
    assert "public domain" in notice and "simple-icd-10-cm" in notice
