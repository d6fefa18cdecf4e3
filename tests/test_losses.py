"""Every loss on hand-built tensors: the behaviour the papers define, checked without a model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.align.losses import (
    code_loss,
    flat_info_nce,
    hce_loss,
    heal_loss,
    heal_weights,
    hr_sampled_softmax_loss,
    hr_softmax_loss,
    link_loss,
    similarity_logits,
    supcon_loss,
)


def unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_flat_is_lower_when_positives_are_closer():
    q = unit([1, 0], [0, 1])
    near = unit([1, 0.1], [0.1, 1])
    far = unit([1, 1], [1, 1.2])
    assert flat_info_nce(q, near) < flat_info_nce(q, far)


def test_flat_hand_worked_and_duplicate_masking():
    q = unit([1, 0], [0, 1])
    d = unit([1, 0], [0, 1])
    # logits = [[1, 0], [0, 1]] / 0.05: loss = log(1 + e^-20)
    assert flat_info_nce(q, d).item() == pytest.approx(math.log1p(math.exp(-20)), abs=1e-6)
    # the same document twice: without ids each query is penalised by the copy; with ids the copy is masked
    d_same = unit([1, 1], [1, 1])
    assert flat_info_nce(q, d_same).item() == pytest.approx(math.log(2), abs=1e-5)
    assert flat_info_nce(q, d_same, doc_ids=torch.tensor([7, 7])).item() == pytest.approx(0.0, abs=1e-6)


def test_hr_matches_a_naive_loop():
    torch.manual_seed(0)
    q, docs = torch.randn(5, 3), torch.randn(9, 3)
    targets = torch.tensor([0, 3, 8, 3, 1])
    for similarity, temperature in (("dot", 0.7), ("cosine", 0.05)):
        total = 0.0
        for i in range(5):
            if similarity == "dot":
                logits = [float(q[i] @ docs[j]) / temperature for j in range(9)]
            else:
                logits = [float(F.cosine_similarity(q[i], docs[j], dim=0)) / temperature for j in range(9)]
            total += -(logits[targets[i]] - math.log(sum(math.exp(v) for v in logits)))
        assert hr_softmax_loss(q, docs, targets, temperature, similarity).item() == pytest.approx(total / 5, rel=1e-5)


def test_hr_weights_and_similarities():
    q, docs = torch.randn(4, 3), torch.randn(6, 3)
    targets = torch.tensor([0, 1, 2, 3])
    w = torch.tensor([1.0, 0.0, 0.0, 0.0])
    one = F.cross_entropy(similarity_logits(q[:1], docs, 2.0, "dot"), targets[:1])
    assert hr_softmax_loss(q, docs, targets, 2.0, weights=w).item() == pytest.approx(one.item(), rel=1e-6)
    with pytest.raises(ValueError, match="similarity"):
        similarity_logits(q, docs, 1.0, "multiply")


def test_hr_is_lower_when_the_target_is_closer():
    docs = unit([1, 0], [0, 1], [-1, 0])
    close, far = unit([1, 0.05]), unit([0.2, 1])
    t = torch.tensor([0])
    assert hr_softmax_loss(close, docs, t, 0.05, "cosine") < hr_softmax_loss(far, docs, t, 0.05, "cosine")


@pytest.mark.parametrize("levels, expected", [(1, [1.0]), (3, [4 / 7, 2 / 7, 1 / 7]), (5, [16 / 31, 8 / 31, 4 / 31, 2 / 31, 1 / 31])])
def test_heal_weights(levels, expected):
    w = heal_weights(levels)
    assert w.tolist() == pytest.approx(expected)
    assert w.sum().item() == pytest.approx(1.0)


def test_heal_with_one_level_is_supcon():
    torch.manual_seed(1)
    z = torch.randn(8, 4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3])
    assert heal_loss(z, labels[:, None]).item() == pytest.approx(supcon_loss(z, labels).item(), rel=1e-6)


def test_supcon_hand_worked():
    # three items, tau 1, unit vectors: a and b share a label, c does not.
    z = unit([1, 0], [1, 0], [0, 1])
    labels = torch.tensor([5, 5, 6])
    # anchor a: -log(e^1 / (e^1 + e^0)); same for b; c has no positive and is skipped
    expected = -math.log(math.e / (math.e + 1))
    assert supcon_loss(z, labels, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)
    assert supcon_loss(z, torch.tensor([1, 2, 3])).item() == 0.0  # no positives anywhere


def test_heal_is_lower_when_same_branch_items_are_closer():
    labels = torch.tensor([[0, 0], [0, 1], [1, 2], [1, 3]])
    aligned = unit([1, 0.1], [1, 0.2], [-1, 0.1], [-1, 0.2])  # branch 0 left, branch 1 right
    mixed = unit([1, 0.1], [-1, 0.2], [1, 0.2], [-1, 0.1])
    assert heal_loss(aligned, labels, temperature=0.5) < heal_loss(mixed, labels, temperature=0.5)


def test_heal_ragged_options():
    z = torch.randn(4, 3)
    labels = torch.tensor([[0, 2], [0, -1], [1, 3], [1, -1]])
    repeated = torch.tensor([[0, 2], [0, 0], [1, 3], [1, 1]])
    assert heal_loss(z, labels, ragged="repeat").item() == pytest.approx(heal_loss(z, repeated).item())
    # "drop": level 1 has no positive pair at all, so only level 0 counts (weight 2/3)
    assert heal_loss(z, labels, ragged="drop").item() == pytest.approx(2 / 3 * supcon_loss(z, labels[:, 0]).item(), rel=1e-6)


def test_hce_one_level_tree_is_full_softmax_info_nce():
    torch.manual_seed(2)
    q, docs = torch.randn(5, 4), torch.randn(7, 4)
    targets = torch.tensor([0, 6, 2, 2, 4])
    candidates = torch.arange(7).expand(5, 1, 7)  # root -> all documents
    expected = hr_softmax_loss(q, docs, targets, 0.1, "cosine")
    assert hce_loss(q, docs, candidates, targets[:, None], temperature=0.1).item() == pytest.approx(expected.item(), rel=1e-5)


def test_hce_sums_levels_and_ignores_padding():
    # two levels; level 0 picks between nodes 0 and 1, level 1 between 2, 3 (and padding)
    nodes = unit([1, 0], [-1, 0], [0, 1], [0, -1])
    q = unit([1, 1])
    candidates = torch.tensor([[[0, 1, -1], [2, 3, -1]]])
    positive = torch.tensor([[0, 0]])
    tau = 1.0
    s = 1 / math.sqrt(2)
    level = -math.log(math.exp(s) / (math.exp(s) + math.exp(-s)))
    assert hce_loss(q, nodes, candidates, positive, temperature=tau).item() == pytest.approx(2 * level, rel=1e-5)
    # a level with a single candidate contributes log(1) = 0
    single = torch.tensor([[[0, -1, -1], [2, 3, -1]]])
    assert hce_loss(q, nodes, single, positive, temperature=tau).item() == pytest.approx(level, rel=1e-5)


def test_flat_hard_negatives_raise_the_loss_only_when_they_are_close():
    q = unit([1, 0], [0, 1])
    d = unit([1, 0.1], [0.1, 1])
    easy = unit([-1, 0], [0, -1])
    hard = unit([1, 0.05], [0.05, 1])
    base = flat_info_nce(q, d)
    assert flat_info_nce(q, d, hard_negatives=easy).item() == pytest.approx(base.item(), abs=1e-6)
    assert flat_info_nce(q, d, hard_negatives=hard) > base + 0.5


def test_code_loss_hand_worked_and_balanced():
    # one row: two ancestors scoring 1.0 and 0.0, three sampled codes of which one is an ancestor (masked)
    positive = torch.tensor([[1.0, 0.0]])
    negative = torch.tensor([[0.0, 2.0, 1.0]])
    neg_mask = torch.tensor([[True, True, False]])
    t, b = 0.5, 0.5
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    up = ((sp((b - 1.0) / t) + sp((1.0 - 1.0) / t)) + (sp((b - 0.0) / t) + sp((0.0 - 1.0) / t))) / 2
    down = ((sp((0.0 - b) / t) + sp((-b - 0.0) / t)) + (sp((2.0 - b) / t) + sp((-b - 2.0) / t))) / 2
    got = code_loss(positive, torch.tensor([[True, True]]), negative, neg_mask, b, t)
    assert got.item() == pytest.approx(up + down, rel=1e-6)


def test_code_loss_keeps_scores_in_their_bands():
    def loss(p, n):
        return code_loss(torch.tensor([[p]]), torch.tensor([[True]]), torch.tensor([[n]]), torch.tensor([[True]]), 0.5, 0.1)

    assert loss(0.8, 0.0) < loss(-1.0, 2.0)  # separated beats mixed up
    assert loss(0.8, 0.0) < loss(5.0, 0.0)  # an ancestor scoring far above 1 is pulled back: scores stay calibrated
    assert loss(0.8, 0.0) < loss(0.8, -5.0)  # and so is a strongly negative non-ancestor


def test_link_loss_is_the_mean_log_posterior_of_the_true_ancestors():
    # linked nodes j=0 (prob .75) and j=1 (.25); true ancestors a0, a1; a0 is above both links, a1 only above j=1
    probs = torch.tensor([[0.75, 0.25]])
    member = torch.tensor([[[True, False], [True, True]]])  # (B, k, A)
    valid = torch.tensor([[True, True]])
    expected = -(math.log(1.0) + math.log(0.25)) / 2
    assert link_loss(probs, member, valid).item() == pytest.approx(expected, rel=1e-6)
    # attention on the node whose ancestors are the true ones costs less
    better = link_loss(torch.tensor([[0.25, 0.75]]), member, valid)
    assert better < link_loss(probs, member, valid)
    # padding is ignored
    padded = link_loss(probs, torch.cat([member, member[:, :, :1]], dim=2), torch.tensor([[True, True, False]]))
    assert padded.item() == pytest.approx(expected, rel=1e-6)


def test_blocked_full_softmax_equals_the_plain_one_in_value_and_gradients():
    from core.align.losses.full_softmax import blocked_softmax_cross_entropy

    torch.manual_seed(3)
    q = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    docs = torch.randn(50, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([0, 49, 3, 3, 17, 20, 21])  # a repeated target too
    plain = F.cross_entropy(q @ docs.T / 0.7, targets)
    blocked = blocked_softmax_cross_entropy(q, docs, targets, 0.7, block=8)  # 7 blocks, the last one short
    g_plain = torch.autograd.grad(plain, (q, docs))
    g_blocked = torch.autograd.grad(blocked, (q, docs))
    assert blocked.item() == pytest.approx(plain.item(), rel=1e-12)
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(g_plain, g_blocked))


def test_sampled_softmax_with_every_document_drawn_once_is_the_full_softmax_minus_nothing():
    # drawing all N documents once (S = N): the correction log(N/S) is 0 and the target's own draw is masked, so the
    # candidates are exactly the full set
    torch.manual_seed(4)
    q, docs = torch.randn(3, 4), torch.randn(6, 4)
    targets = torch.tensor([1, 5, 0])
    full = hr_softmax_loss(q, docs, targets, 2.0, "dot")
    sampled = hr_sampled_softmax_loss(q, docs, targets, torch.arange(6), 2.0, "dot")
    assert sampled.item() == pytest.approx(full.item(), rel=1e-5)


def test_heal_weight_schemes_sum_to_one_and_order_levels():
    from core.align.losses.heal import heal_weights

    for scheme in ("paper", "uniform", "fine"):
        assert float(heal_weights(3, scheme).sum()) == pytest.approx(1.0)
    assert heal_weights(3, "paper").tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert heal_weights(3, "fine").tolist() == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    assert heal_weights(4, "uniform").tolist() == pytest.approx([0.25] * 4)


def test_heal_level_labels_drop_own_ids_and_repeated_groupings():
    import pandas as pd

    from core.align.objectives.heal import heal_level_labels
    from core.data.corpus import corpus_from_frame

    # a/x/y and b/z/w: levels 1 and 2 group the documents exactly as level 0 does; c/u and c/v split c's documents
    frame = pd.DataFrame({"id": [f"d{i}" for i in range(6)], "text": ["t"] * 6,
                          "path": ["a/x/y", "a/x/y", "b/z/w", "b/z/w", "c/u", "c/v"]})
    corpus = corpus_from_frame(frame, "ragged")
    tree = corpus.hierarchy.spanning_tree()
    rows = np.flatnonzero(corpus.is_row)
    labels = heal_level_labels(tree, rows)
    assert labels.shape[1] == 2  # level 0 (a, b, c) and the one level that splits further (c/u vs c/v)
    assert not (labels[rows] == rows[:, None]).any()  # a document is never its own label
    ids = corpus.ids
    coarse = [ids[v] for v in labels[rows, 0]]
    assert coarse == ["a", "a", "b", "b", "c", "c"]
    fine = labels[rows, 1]
    assert fine[4] != fine[5] and fine[0] == fine[1]


def test_length_penalty_hand_worked_and_zero_on_unit_rows():
    from core.align.losses import length_penalty

    v = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.6, 0.8]])  # squared lengths 1, 4, 1
    assert length_penalty(v).item() == pytest.approx((0 + 9 + 0) / 3)
    assert length_penalty(F.normalize(torch.randn(5, 3), dim=-1)).item() == pytest.approx(0, abs=1e-10)
    # its gradient pulls a long row back towards unit length
    x = torch.tensor([[2.0, 0.0]], requires_grad=True)
    length_penalty(x).backward()
    assert x.grad[0, 0] > 0 and x.grad[0, 1] == 0
