"""The training losses, one per file, each a pure function of tensors (tested on hand-built tensors, no model).

- flat: in-batch contrastive (InfoNCE / multiple-negatives ranking), the baseline
- hr: softmax of a query against ALL documents (Hierarchical Retrieval paper)
- heal: level-weighted supervised contrastive (HEAL)
- hce: sibling softmax down a tree (Hierarchical Corpus Encoder)
- memory: the memory method's code and link losses
- length: a penalty keeping an adapter head's outputs near unit length (so a base weight keeps its share)

Every loss turns vectors into logits the same way: similarity / temperature (core/align/losses/similarity.py).
"""

from core.align.losses.flat import flat_info_nce
from core.align.losses.hce import hce_loss
from core.align.losses.heal import heal_loss, heal_weights, supcon_loss
from core.align.losses.hr import hr_sampled_softmax_loss, hr_softmax_loss
from core.align.losses.length import length_penalty
from core.align.losses.memory import code_loss, link_loss
from core.align.losses.similarity import similarity_logits

__all__ = ["code_loss", "link_loss", "flat_info_nce", "hce_loss", "heal_loss", "heal_weights", "hr_sampled_softmax_loss", "hr_softmax_loss", "length_penalty", "similarity_logits", "supcon_loss"]
