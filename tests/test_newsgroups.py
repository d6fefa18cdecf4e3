"""20 Newsgroups from ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

import pytest

from bench.newsgroups import available, gold_labels, load_newsgroups

pytestmark = pytest.mark.skipif(not available(), reason="../shared/data/20news-bydate.tar.gz is not present")


def test_newsgroups_sample_is_a_path_corpus():
    corpus = load_newsgroups("test", sample=300, seed=1)
    assert corpus.n_rows == 300 and corpus.layout == "path" and corpus.hierarchy.is_tree
    top, leaf = gold_labels(corpus)
    assert set(top) <= {"alt", "comp", "misc", "rec", "sci", "soc", "talk"} and len(set(leaf)) == 20
    h = corpus.hierarchy
    some = h.index[next(i for i in corpus.ids if i.startswith("comp.sys.ibm.pc.hardware/"))]
    assert h.ids[h.parents(some)[0]] == "comp/sys/ibm/pc/hardware"
    assert all(len(corpus.texts[i]) <= 1000 for i in range(corpus.n_rows))
