"""The training loop on tiny data: it learns, reports, stops, records and exports what it trained."""

from __future__ import annotations

import copy
import json
import threading

import numpy as np
import pytest
import torch

from core.align.train import AlignConfig, align, split_queries, steps_for_epochs
from core.data.builtins import load_corpus
from core.embedding.model import embedding_cache, load_model
from core.embedding.vectors import embed_corpus
from core.errors import InputError
from core.runs.alignment import run_alignment
from core.runs.folder import read_status

TREE = load_corpus("synthetic:3x3")  # 13 nodes
LOOKUP = dict(encoder="lookup", dim=8, lr=0.05, batch_size=64, eval_every=10)


@pytest.fixture(scope="module")
def minilm_base(tmp_path_factory):
    cache = embedding_cache(tmp_path_factory.mktemp("ws"))
    return embed_corpus(TREE, None, cache, clauses=True)


def test_training_lowers_the_loss_and_reports_increasing_steps():
    events = []
    result = align(TREE, AlignConfig(method="hr", steps=200, **LOOKUP), callback=events.append)
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 201))
    assert np.mean([e["loss"] for e in steps[-20:]]) < 0.5 * np.mean([e["loss"] for e in steps[:20]])
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == list(range(0, 201, 10))
    assert evals[-1]["metrics"]["recall_overall"] > evals[0]["metrics"]["recall_overall"]
    assert events[0]["type"] == "start" and events[-1]["type"] == "done"
    assert result.queries.shape == (13, 8) and result.docs.shape == (13, 8)


PLANTED = load_corpus("synthetic:4x4")  # 85 nodes


def planted_base(seed: int = 0, dim: int = 16, noise: float = 0.3):
    """Random unit 'document embeddings' and queries near their own document: a base model that finds a node but
    knows nothing of its ancestors (like MiniLM on WordNet), with no model to load."""
    rng = np.random.default_rng(seed)
    docs = rng.standard_normal((PLANTED.n, dim)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = docs[PLANTED.query_nodes] + noise * rng.standard_normal((len(PLANTED.query_nodes), dim)).astype(np.float32)
    return queries / np.linalg.norm(queries, axis=1, keepdims=True), docs


OWN_METRIC_RUNS = {
    "hr": dict(encoder="lookup", dim=8, steps=150),
    "flat": dict(encoder="lookup", dim=8, steps=150),
    "heal": dict(encoder="lookup", dim=8, steps=150),
    "hce": dict(encoder="lookup", dim=8, steps=150, hce_branching=4),
    "memory": dict(dim=8, steps=150, lr=0.01, link_steps=0, memory_keys="documents", memory_negatives=64),
}


def own_metric_gain(method: str, zero_gradient: bool = False) -> tuple[float, float]:
    """(validation score of the method's own metric before training, after training with the best checkpoint)."""
    from core.align.plan import plan_run
    from core.align.train import Trainer

    config = AlignConfig(method=method, batch_size=32, eval_every=50, **OWN_METRIC_RUNS[method])
    trainer = Trainer(plan_run(PLANTED, config, planted_base() if config.encoder != "lookup" else None))
    start = trainer.validation_score()
    if zero_gradient:  # a loss with no gradient effect: the check below must then fail
        real = trainer.objective.loss
        trainer.objective.loss = lambda phase: real(phase) * 0.0
    trainer.run()
    return start, trainer.validation_score()


@pytest.mark.parametrize("method", sorted(OWN_METRIC_RUNS))
def test_training_improves_each_methods_own_metric_on_a_planted_tree(method):
    start, end = own_metric_gain(method)
    assert end > start + 0.05, (method, start, end)


def test_the_own_metric_check_fails_for_a_loss_without_gradient():
    start, end = own_metric_gain("hr", zero_gradient=True)
    assert end == pytest.approx(start)


@pytest.mark.parametrize("method", ["flat", "hr", "heal", "hce"])
def test_every_method_trains_in_lookup_mode(method):
    result = align(TREE, AlignConfig(method=method, steps=30, hce_branching=3, **LOOKUP))
    assert np.isfinite(result.queries).all() and len(result.history) == 4


def test_same_seed_same_result():
    a = align(TREE, AlignConfig(method="hr", steps=50, seed=3, **LOOKUP))
    b = align(TREE, AlignConfig(method="hr", steps=50, seed=3, **LOOKUP))
    c = align(TREE, AlignConfig(method="hr", steps=50, seed=4, **LOOKUP))
    assert np.array_equal(a.queries, b.queries) and np.array_equal(a.docs, b.docs)
    assert not np.array_equal(a.queries, c.queries)


def test_pretrain_finetune_phases_use_far_pairs_lower_lr_and_new_temperature():
    events = []
    config = AlignConfig(method="hr", steps=20, recipe="pretrain-finetune", far_steps=10, far_threshold=2,
                         temperature=20, far_temperature=500, far_lr_factor=1e-3, **LOOKUP)
    align(TREE, config, callback=events.append)
    phases = [e for e in events if e["type"] == "phase"]
    assert [p["phase"] for p in phases] == ["pretrain", "far"]
    assert phases[1]["lr"] == pytest.approx(0.05 * 1e-3) and phases[1]["temperature"] == 500
    far_pairs = sum(1 for v in range(13) for _, d in zip(*TREE.hierarchy.ancestors.of(v)) if d >= 2)
    assert phases[1]["pairs"] == far_pairs == 9
    assert events[-1]["step"] == 30


def test_stop_flag_ends_the_run_with_a_readable_folder(tmp_path):
    stop = threading.Event()

    def stop_at_five(event):
        if event["type"] == "step" and event["step"] == 5:
            stop.set()

    result = run_alignment(TREE, AlignConfig(method="hr", steps=1000, **LOOKUP), tmp_path / "run", callback=stop_at_five, stop=stop)
    assert result.stopped
    run = tmp_path / "run"
    assert read_status(run)["state"] == "stopped"
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["before"]) >= {"recall_by_distance", "recall_overall", "recall_min", "pairs_by_distance", "heldout"}
    assert metrics["after"]["heldout"]["pairs_by_distance"]
    assert np.load(run / "docs.npy").shape == (13, 8)
    assert json.loads((run / "config.json").read_text())["align"]["steps"] == 1000
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0, 5]


def test_a_run_that_dies_is_marked_and_readable(tmp_path):
    seen = {}

    def die(event):
        if event["type"] == "step" and event["step"] == 3:
            seen["status"] = read_status(tmp_path / "run")["state"]
            seen["config"] = json.loads((tmp_path / "run" / "config.json").read_text())
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        run_alignment(TREE, AlignConfig(method="hr", steps=100, **LOOKUP), tmp_path / "run", callback=die)
    assert seen["status"] == "incomplete" and seen["config"]["corpus"] == "synthetic:3x3"
    status = read_status(tmp_path / "run")
    assert status["state"] == "failed" and "power cut" in status["error"]
    assert not list((tmp_path / "run").glob("*.tmp"))


@pytest.mark.parametrize("head, shared, base_weight", [("mlp", True, 0.0), ("linear", False, 1.0)])
def test_adapter_export_reloads_and_reproduces_the_run(tmp_path, minilm_base, head, shared, base_weight):
    from sentence_transformers import SentenceTransformer

    config = AlignConfig(method="hr", encoder="adapter", head=head, shared_head=shared, base_weight=base_weight,
                         steps=40, lr=1e-2, batch_size=16, eval_every=20)
    result = run_alignment(TREE, config, tmp_path / "run", minilm_base)
    model = SentenceTransformer(str(tmp_path / "run" / "model"), device="cpu")
    queries, docs = TREE.query_texts(), list(TREE.texts)
    q = model.encode_query(queries) if not shared else model.encode(queries)
    d = model.encode_document(docs) if not shared else model.encode(docs)
    assert np.allclose(q, result.queries, atol=1e-5) and np.allclose(d, result.docs, atol=1e-5)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # before = the zero-shot model: the base vectors give the same ranking
    assert metrics["before"]["recall_by_distance"]["0"] > 0.5


@pytest.mark.parametrize("head, shared, base_weight", [("mlp", False, 0.5), ("linear", True, 0.0)])
def test_export_of_a_perturbed_head_is_exact(tmp_path, minilm_base, head, shared, base_weight):
    """Random (far from identity) head weights: the Dense layers must still compute the head exactly."""
    import torch

    from core.align.encoders import AdapterEncoder, encode_all
    from core.align.export import export_encoder

    encoder = AdapterEncoder(*minilm_base, head=head, hidden=32, shared=shared, base_weight=base_weight)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.3 * torch.randn_like(p))
    queries, docs = encode_all(encoder, TREE.n)
    assert not np.allclose(docs[:, :384], minilm_base.docs, atol=1e-2)
    export_encoder(encoder, tmp_path / "model", load_model(None, "cpu"))
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    encode_q = model.encode if shared else model.encode_query
    encode_d = model.encode if shared else model.encode_document
    assert np.allclose(encode_q(TREE.query_texts()), queries, atol=1e-5)
    assert np.allclose(encode_d(list(TREE.texts)), docs, atol=1e-5)


def test_finetune_mode_trains_the_transformer(tmp_path, minilm_base):
    from core.align.plan import plan_run
    from core.align.train import Trainer

    config = AlignConfig(method="flat", encoder="finetune", steps=2, batch_size=8, eval_every=1)
    weights = lambda model: model[0].auto_model.embeddings.word_embeddings.weight.detach().numpy().copy()  # noqa: E731
    original = weights(load_model(None, "cpu"))
    trainer = Trainer(plan_run(TREE, config, minilm_base))
    changed = []
    trainer.callback = lambda e: changed.append(not np.allclose(weights(trainer.encoder.model), original)) if e["type"] == "step" else None
    trainer.run()
    assert changed == [True, True]
    assert np.allclose(weights(load_model(None, "cpu")), original)  # the cached base model is untouched
    run_alignment(TREE, config, tmp_path / "run", minilm_base)
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


def test_query_split_keeps_heldout_untouched():
    split = split_queries(100, AlignConfig(encoder="adapter"))
    assert len(split.heldout) == 20 and len(split.validation) == 10 and len(split.train) == 70
    assert not set(split.train) & set(split.heldout) and not set(split.validation) & set(split.heldout)
    lookup = split_queries(100, AlignConfig(encoder="lookup"))
    assert len(lookup.train) == 100


def test_bad_options_are_input_errors():
    with pytest.raises(InputError, match="method"):
        align(TREE, AlignConfig(method="magic", **LOOKUP))
    with pytest.raises(InputError, match="far"):
        align(TREE, AlignConfig(method="hr", recipe="pretrain-finetune", far_threshold=9, steps=2, **LOOKUP))
    with pytest.raises(InputError, match="--heal-weights .coarse.: must be one of paper, uniform, fine"):
        align(TREE, AlignConfig(method="heal", heal_weights="coarse", steps=2, **LOOKUP))
    assert steps_for_epochs(TREE, AlignConfig(method="hr", encoder="lookup", batch_size=10), 1) == 4  # 34 pairs


def test_hce_co_training_never_keeps_a_tree_that_lowered_validation():
    from core.align.plan import plan_run
    from core.align.train import Trainer

    config = AlignConfig(method="hce", hce_branching=3, hce_rebuild_every=10, steps=40, **LOOKUP)
    trainer = Trainer(plan_run(load_corpus("synthetic:3x4"), config))
    hce = trainer.objective
    # validation at the boundaries (steps 10, 20, 30): the tree built at 10 lowers it by 20 (0.8 -> 0.6), so it is
    # dropped (re-scored 0.8 after the restore); the tree built at 20 raises it by 30 (0.9), so it is kept
    scripted = iter([0.8, 0.6, 0.8, 0.9])
    trainer.validation_score = lambda: next(scripted)
    initial_parents = [p.copy() for p in hce.hce.tree.parent]
    seen, events = {}, []
    trainer.callback = events.append
    real_after_step = hce.after_step

    def after_step(step, total):
        if step == 10:
            seen["params at 10"] = trainer.checkpoint()
        changed = real_after_step(step, total)
        if step == 20:
            seen["went on from"] = copy.deepcopy(hce.trial[1])
        return changed

    hce.after_step = after_step
    trainer.run()
    trials = [(t["kept"], t["before"], t["after"], t.get("restored")) for t in events if "kept" in t]
    assert trials == [(False, 0.8, 0.6, 0.8), (True, 0.8, 0.9, None)]
    # at step 20 the rejected tree gave way to the one in use at step 10 (the initial tree), with step 10's parameters
    went_on_from = seen["went on from"]
    assert all(np.array_equal(a, b) for a, b in zip(went_on_from["tree"].tree.parent, initial_parents))
    for name, value in seen["params at 10"]["encoder"].items():
        assert torch.equal(went_on_from["params"]["encoder"][name], value)


def test_memory_export_reloads_and_reproduces_the_run(tmp_path, minilm_base):
    from sentence_transformers import SentenceTransformer

    config = AlignConfig(method="memory", dim=6, steps=20, link_steps=10, batch_size=8, eval_every=10)
    result = run_alignment(TREE, config, tmp_path / "run", minilm_base)
    assert result.docs.shape == (13, 6 + 384)  # codes, then the base vector scaled by sqrt(base_weight)
    model = SentenceTransformer(str(tmp_path / "run" / "model"), device="cpu")
    queries = model.encode_query(TREE.query_texts())
    docs = model.encode_document(list(TREE.texts))
    assert np.allclose(queries, result.queries, atol=1e-4) and np.allclose(docs, result.docs, atol=1e-4)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"before", "after", "reference", "reference_clauses", "summary"} <= set(metrics)
    assert metrics["reference"]["heldout"]["pairs_by_distance"] == metrics["after"]["heldout"]["pairs_by_distance"]


def test_memory_with_one_code_per_node_scores_the_exact_posterior(minilm_base):
    """Orthonormal codes: <query, code_a> = the attention on nodes at or below a = P(a is an ancestor); a document's
    vector is its attention-weighted mix of codes, so <query, doc_a> = sum_b w_ab P(b is an ancestor)."""
    import torch

    from core.align.plan import plan_run
    from core.align.train import Trainer

    trainer = Trainer(plan_run(TREE, AlignConfig(method="memory", link_steps=0, base_weight=0.0), minilm_base))
    enc = trainer.encoder
    assert trainer.config.dim == TREE.n  # one code per node for a small corpus
    enc.eval()
    with torch.no_grad():
        probs = torch.softmax(enc.link_logits(enc.base_q), dim=1).numpy()  # (m, keys)
        scores = (enc.queries(torch.arange(len(TREE.query_nodes))) @ enc.docs().T).numpy()
        doc_weights = enc.doc_weights(enc.base_d).numpy()  # (n, n)
    node_probs = np.zeros((len(probs), TREE.n))
    np.add.at(node_probs.T, enc.owner.numpy(), probs.T)
    anc = TREE.hierarchy.ancestors
    posterior = np.zeros_like(node_probs)
    for v in range(TREE.n):  # P(a in anc(v)): attention on every node at or below a
        for a in anc.of(v)[0]:
            posterior[:, a] += node_probs[:, v]
    assert np.allclose(scores, posterior @ doc_weights.T, atol=1e-5)


def test_heal_adapter_never_trains_on_validation_or_heldout_documents():
    """Checkpoints are chosen on unseen documents: HEAL's batches draw only rows outside the validation and held-out
    query nodes (for a corpus without queries, each row is its own query node); lookup tables keep every row."""
    from core.align.objectives.heal import trained_documents
    from core.align.plan import plan_run
    from core.align.train import Trainer

    base = planted_base()
    trainer = Trainer(plan_run(PLANTED, AlignConfig(method="heal", encoder="adapter", steps=1), base))
    held = PLANTED.query_nodes[np.concatenate([trainer.split.validation, trainer.split.heldout])]
    drawn = trainer.objective.documents
    assert len(held) > 0 and len(drawn) > 0
    assert np.intersect1d(drawn, held).size == 0
    assert np.union1d(drawn, held).size == PLANTED.n_rows
    rows = np.flatnonzero(PLANTED.is_row)
    in_sample = plan_run(PLANTED, AlignConfig(method="heal", encoder="lookup", steps=1)).split
    assert in_sample.in_sample and np.array_equal(trained_documents(PLANTED, in_sample), rows)


def test_hce_adapter_with_a_base_weight_trains():
    """With a base weight the adapter's vectors are [head(x), sqrt(w) x] (twice as wide): HCE's tree and its memory
    levels live in that space, so the run trains instead of failing on mismatched widths."""
    base = planted_base()
    result = align(PLANTED, AlignConfig(method="hce", encoder="adapter", base_weight=1.0, steps=5, eval_every=5), base)
    assert result.docs.shape == (PLANTED.n, 2 * base[1].shape[1])
    assert [e["step"] for e in result.history] == [0, 5]


def test_the_length_penalty_keeps_an_adapter_head_near_unit_length_and_the_export_exact(tmp_path, minilm_base):
    """With a base weight, a free head grows its outputs and drowns the base part; the penalty holds |head(x)| near 1.
    A dot-similarity adapter (free lengths) is not penalised: its base term is exact."""
    import torch

    def head_lengths(length_weight: float) -> tuple[np.ndarray, object]:
        config = AlignConfig(method="flat", encoder="adapter", base_weight=1.0, length_weight=length_weight, steps=60,
                             lr=1e-2, batch_size=16, eval_every=60)
        result = run_alignment(TREE, config, tmp_path / f"run{length_weight}", minilm_base)
        with torch.no_grad():
            heads = result.encoder.doc_head(torch.as_tensor(minilm_base.docs))
        return heads.norm(dim=-1).numpy(), result

    free, _ = head_lengths(0.0)
    held, result = head_lengths(1.0)
    assert np.abs(held - 1).mean() < 0.5 * np.abs(free - 1).mean()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tmp_path / "run1.0" / "model"), device="cpu")
    assert np.allclose(model.encode(list(TREE.texts)), result.docs, atol=1e-5)

    from core.align.encoders import AdapterEncoder

    for normalize, penalised in [(True, True), (False, False)]:
        encoder = AdapterEncoder(*minilm_base, base_weight=1.0, normalize=normalize, length_weight=1.0)
        with torch.no_grad():
            encoder.query_head.down.bias.add_(1.0)  # |head(x)| far from 1
        encoder.train()
        encoder.queries(torch.arange(3))
        assert (encoder.regularizer().item() > 0) == penalised
        assert encoder.regularizer().item() == 0  # each step's outputs count once


@pytest.mark.parametrize("method, widened", [("heal", True), ("hce", True), ("flat", False), ("hr", False)])
def test_heal_and_hce_adapters_keep_the_base_score_by_default(method, widened):
    """HEAL's head alone fell below the base model on held-out documents and queries (docs/reproduction.md), so HEAL
    and HCE adapters keep the base cosine at weight 1 unless asked otherwise: their vectors are [head(x), x]."""
    base = planted_base()
    result = align(PLANTED, AlignConfig(method=method, encoder="adapter", steps=2, eval_every=2), base)
    assert AlignConfig(method=method, encoder="adapter").resolved().base_weight == (1.0 if widened else 0.0)
    assert result.docs.shape == (PLANTED.n, (2 if widened else 1) * base[1].shape[1])


def _linking_case(clauses_point_right: bool):
    """The asked corpus (nodes a, b, c, d under space / cars / food; queries for a, b, d) with hand-set vectors: one
    of documents and clauses links every query to its own node, the other to a wrong one."""
    import pandas as pd

    from core.data.corpus import corpus_from_frame
    from core.embedding.vectors import BaseVectors

    corpus = corpus_from_frame(pd.DataFrame({
        "id": ["a", "b", "c", "d"], "text": ["rocket, launch orbit", "engine, brake wheel", "oven flour", "moon"],
        "path": ["space", "cars", "food", "space"], "query": ["orbit?", "brake?", "", "shuttle?"]}), "asked.csv")
    nodes = corpus.query_nodes
    dim = corpus.n + 3
    docs = np.eye(corpus.n, dim, dtype=np.float32)
    queries = np.eye(len(nodes), dim, k=corpus.n, dtype=np.float32)  # each query alone in a dimension of its own
    wrong = corpus.hierarchy.index["c"]
    if clauses_point_right:  # documents: the query sits nearest 'c'; a clause of the query's own node sits on it
        queries = queries + 0.5 * docs[wrong]
        owner = nodes
    else:  # documents: the query sits nearest its own node; a clause of 'c' sits on it, closer still
        queries = queries + 0.5 * docs[nodes]
        owner = np.full(len(nodes), wrong)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    clause_vectors = np.eye(len(nodes), dim, k=corpus.n, dtype=np.float32)
    return corpus, BaseVectors(unit(queries), docs, clause_vectors, owner.astype(np.int64))


@pytest.mark.parametrize("clauses_point_right, expected", [(True, "clauses"), (False, "documents")])
def test_memory_keys_auto_picks_the_keys_that_link_validation_queries_better(clauses_point_right, expected):
    from core.align.plan import plan_run
    from core.align.train import Trainer
    from core.evaluation.reference import better_link_keys, reference_rankings

    corpus, base = _linking_case(clauses_point_right)
    everyone = np.arange(len(corpus.query_nodes))
    assert better_link_keys(corpus, reference_rankings(corpus, base, clauses=True), everyone) == expected
    no_clauses = base.__class__(base.queries, base.docs)
    assert better_link_keys(corpus, reference_rankings(corpus, no_clauses, clauses=True), everyone) == "documents"
    # a run with the default keys records its choice, made on the validation queries only
    trainer = Trainer(plan_run(corpus, AlignConfig(method="memory", link_steps=0, steps=1, heldout_fraction=0.34), base))
    assert AlignConfig().memory_keys == "auto" and trainer.config.memory_keys == expected
    assert len(trainer.split.validation) and not set(trainer.split.validation) & set(trainer.split.heldout)


def test_exact_memory_codes_while_the_read_out_stays_small():
    """One code per node up to 2,048 nodes whatever the keys (as before), and beyond while keys x nodes fits in 4,096^2
    cells: a 3,038-node tree linked through its documents gets exact codes, the same tree with three keys per node
    does not."""
    from core.align.encoders.memory import LEARNED_CODE_DIM, default_code_dim

    assert default_code_dim(2048, 9 * 2048) == 2048
    assert default_code_dim(3038) == 3038 and default_code_dim(3038, 3 * 3038) == LEARNED_CODE_DIM
    assert default_code_dim(4096) == 4096 and default_code_dim(4097) == LEARNED_CODE_DIM


def test_a_plan_fixes_the_config_split_and_references_before_any_model_is_built():
    """plan_run does everything fixed before the first step, once: the defaults, what the memory settles from the data
    (its keys and code size), the split, and the references' rankings; the Trainer trains exactly that plan."""
    from core.align.encoders.memory import default_code_dim
    from core.align.plan import plan_run
    from core.align.train import Trainer
    from core.evaluation.reference import reference_ranking

    queries, docs = planted_base()
    plan = plan_run(PLANTED, AlignConfig(steps=1, link_steps=0), (queries, docs))
    assert plan.config.method == plan.config.encoder == "memory"
    assert plan.config.memory_keys == "documents"  # no clause vectors: nothing to compare
    assert plan.config.dim == default_code_dim(PLANTED.n) and plan.config.steps == 1
    assert np.array_equal(plan.references["reference"], reference_ranking(PLANTED, queries, docs))
    assert set(plan.references) == {"reference"}  # no query column: no lexical references, and none asked for
    m = len(PLANTED.query_nodes)
    split = np.concatenate([plan.split.train, plan.split.validation, plan.split.heldout])
    assert np.array_equal(np.sort(split), np.arange(m)) and not plan.split.in_sample
    trainer = Trainer(plan)
    assert trainer.split is plan.split and trainer.config.memory_keys == plan.config.memory_keys
    lookup = plan_run(PLANTED, AlignConfig(encoder="lookup", dim=4, steps=1))
    assert lookup.split.in_sample and lookup.base is None and lookup.references == {}
    with pytest.raises(ValueError, match="base model"):
        plan_run(PLANTED, AlignConfig(encoder="adapter"))


def test_a_run_with_no_heldout_queries_says_there_was_nothing_to_score(tmp_path):
    """No held-out query, no evidence: the summary says there was nothing to score instead of a verdict (which used to
    read 'at or above zero-shot at every distance (overall +nan%)')."""
    from core.cli import verdict_lines
    from core.runs.folder import RunFolder

    config = AlignConfig(method="hr", encoder="adapter", steps=2, heldout_fraction=0.0)
    run_alignment(PLANTED, config, tmp_path / "run", planted_base())
    summary = RunFolder(tmp_path / "run").metrics["summary"]
    assert "nothing to score" in summary["nothing_to_score"] and summary["beats_every_reference_everywhere"] is None
    assert not [k for k in summary if k.startswith("heldout_vs_")]
    assert verdict_lines(summary) == [f"held-out: {summary['nothing_to_score']}"]
    assert RunFolder(tmp_path / "run").summary()["beats reference everywhere"] is None


def test_a_corpus_with_no_hierarchy_is_refused_before_training():
    import pandas as pd

    from core.align.plan import plan_run
    from core.data.corpus import corpus_from_frame

    flat = corpus_from_frame(pd.DataFrame({"id": ["a", "b"], "text": ["one", "two"]}), "flat.csv")
    with pytest.raises(InputError, match="has no hierarchy.*python -m core hierarchy"):
        plan_run(flat, AlignConfig(encoder="lookup", dim=2, steps=1))


def test_cloze_queries_link_through_their_nodes_other_keys_only(tmp_path):
    """link_cloze: a clause key used as a query never sees its own key nor its node's whole document (both contain
    it verbatim, so its loss would be ~0 and teach nothing); blind to them, the loss is clearly positive; a run with
    it trains and records the setting."""
    import torch

    from core.align.losses import link_loss
    from core.align.plan import plan_run
    from core.align.train import Trainer

    corpus = load_corpus("wordnet-synonyms:fox.n.01")  # 12 nodes, documents 'name: definition'
    base = embed_corpus(corpus, None, embedding_cache(tmp_path), clauses=True)
    config = AlignConfig(method="memory", memory_keys="clauses", link_steps=4, link_cloze=1.0, batch_size=8,
                         base_weight=0.0, heldout_fraction=0.34)
    trainer = Trainer(plan_run(corpus, config, base))
    enc, objective = trainer.encoder, trainer.objective
    n = corpus.n
    assert len(enc.owner) > n
    seen = []
    original = enc.link_logits
    enc.link_logits = lambda x: seen.append(original(x)) or seen[-1]
    objective.rng = np.random.default_rng(0)
    with torch.no_grad():
        blind = float(objective._cloze_loss(16))
    enc.link_logits = original
    keys = torch.as_tensor(np.random.default_rng(0).integers(n, len(enc.owner), 16))
    rows = torch.arange(16)
    assert torch.isinf(seen[-1][rows, keys]).all() and torch.isinf(seen[-1][rows, enc.owner[keys]]).all()
    with torch.no_grad():  # the same clauses allowed to find themselves
        probs, linked = enc.link(enc.keys[keys])
        targets = objective.ancestors[enc.owner[keys]]
        member = objective.is_ancestor(linked[:, :, None], targets.clamp(min=0)[:, None, :])
        sighted = float(link_loss(probs, member, targets >= 0))
    assert blind > 5 * sighted
    result = trainer.run()
    assert result.config.link_cloze == 1.0 and np.isfinite(result.history[-1]["score"])
