"""Property-based tests of the corpus readers: whatever a table holds, loading it raises nothing but InputError, and
whatever loads survives export and re-import in every format unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.files import load_corpus_file, save_corpus
from core.errors import InputError

# cells a careless or hostile file may hold: separators, quotes, formula starts, newlines, non-ASCII, blanks
CELL = st.text(alphabet=st.sampled_from(list("ab1 |/'\",=+-@\t\r\né中")), max_size=6)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    ids = draw(st.lists(CELL, min_size=n, max_size=n))
    frame = {"id": ids, "text": draw(st.lists(CELL, min_size=n, max_size=n))}
    if draw(st.booleans()):
        frame["query"] = draw(st.lists(CELL, min_size=n, max_size=n))
    shape = draw(st.sampled_from(["parents", "path", "none"]))
    if shape == "parents":  # mostly real ids (so some tables are valid), sometimes garbage
        pick = st.one_of(st.sampled_from(ids), CELL)
        frame["parents"] = [draw(st.sampled_from(["", draw(pick), f"{draw(pick)}|{draw(pick)}"])) for _ in ids]
    elif shape == "path":
        frame["path"] = [draw(st.sampled_from(["", "x", "x/y", draw(CELL)])) for _ in ids]
    return pd.DataFrame(frame)


def load_or_refuse(path):
    try:
        return load_corpus_file(path)
    except InputError:
        return None


def same(a, b) -> bool:
    return (a.ids == b.ids and a.texts == b.texts and a.queries == b.queries and a.layout == b.layout
            and np.array_equal(a.hierarchy.parent_ptr, b.hierarchy.parent_ptr)
            and np.array_equal(a.hierarchy.parent_idx, b.hierarchy.parent_idx))


@SETTINGS
@given(frame=tables(), fmt=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]))
def test_any_table_loads_or_is_refused_and_what_loads_round_trips(tmp_path, frame, fmt):
    path = tmp_path / f"in{fmt}"
    if fmt == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame.to_dict("records")))
    elif fmt == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, sep="," if fmt == ".csv" else "\t", index=False)
    corpus = load_or_refuse(path)
    if corpus is None:
        return
    for out_fmt in (".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"):
        out = save_corpus(corpus, tmp_path / f"out{out_fmt}")
        again = load_corpus_file(out)
        assert same(corpus, again), out_fmt


@SETTINGS
@given(raw=st.binary(max_size=200), name=st.sampled_from(["x.csv", "x.tsv", "x.jsonl", "x.parquet", "x.csv.gz"]))
def test_arbitrary_bytes_never_raise_anything_but_input_error(tmp_path, raw, name):
    path = tmp_path / name
    path.write_bytes(raw)
    load_or_refuse(path)


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("id,text\nab|/\"'é")), max_size=60),
       encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_any_encoding_of_any_text_never_raises_anything_but_input_error(tmp_path, text, encoding):
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode(encoding, "replace"))
    load_or_refuse(path)


def test_a_hand_made_valid_table_round_trips():  # the property above must not pass by refusing everything
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ok.csv"
        pd.DataFrame({"id": ["a", "=b"], "text": ["x", "-y"], "parents": ["", "a"]}).to_csv(path, index=False)
        corpus = load_corpus_file(path)
        assert corpus.ids == ("a", "=b")
        assert same(corpus, load_corpus_file(save_corpus(corpus, Path(folder) / "out.csv")))


@pytest.mark.parametrize("frame, where", [
    (pd.DataFrame({"id": ["a|b", "c"], "text": ["x", "y"], "parents": ["", "a|b"]}), "column 'id'"),
    (pd.DataFrame({"id": ["a"], "text": ["x"], "path": ["s//t"]}), "column 'path'"),
    (pd.DataFrame({"id": ["a"], "text": ["x"], "path": ["/s"]}), "column 'path'"),
    (pd.DataFrame({"id": ["a"], "text": ["x"], "path": ["s/"]}), "column 'path'"),
])
def test_ambiguous_ids_and_empty_path_labels_are_refused_with_the_row(tmp_path, frame, where):
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"row 1 .*{where}"):
        load_corpus_file(path)


def test_parquet_types_are_read_exactly_or_refused(tmp_path):
    ints = tmp_path / "ints.parquet"
    pd.DataFrame({"id": [1, 2], "text": ["a", "b"], "parents": ["", "1"]}).to_parquet(ints)
    assert load_corpus_file(ints).ids == ("1", "2")  # not 1.0
    nulls = tmp_path / "nulls.parquet"
    pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "parents": pd.array([None, 7], dtype="Int64")}).to_parquet(nulls)
    with pytest.raises(InputError, match="unknown parent id '7'"):  # read as 7, not 7.0
        load_corpus_file(nulls)
    for bad, column in ((pd.DataFrame({"id": ["a"], "text": [3]}), "'text': holds int64"),
                        (pd.DataFrame({"id": ["a"], "text": [["x"]]}), "'text': holds lists")):
        path = tmp_path / "bad.parquet"
        bad.to_parquet(path)
        with pytest.raises(InputError, match=column):
            load_corpus_file(path)


def test_export_escapes_formula_cells_for_spreadsheets(tmp_path):
    from core.data.files import load_corpus_bytes

    corpus = load_corpus_bytes("in.csv", b"id,text\n=cmd!A0,+SUM(1)\nb,@x\n")
    out = save_corpus(corpus, tmp_path / "out.csv")
    lines = out.read_text().splitlines()
    assert lines[1].startswith("'=cmd!A0,'+SUM(1)") and lines[2].startswith("b,'@x")
    assert load_corpus_file(out).ids == ("=cmd!A0", "b")


@pytest.mark.parametrize("name", ["..", ".", "", "a\x00b.csv", "x" * 300 + ".csv", "a\nb.csv"])
def test_unusable_upload_names_are_refused(name):
    from core.data.files import load_corpus_bytes

    with pytest.raises(InputError, match="not a usable file name"):
        load_corpus_bytes(name, b"id,text\na,b\n")
