"""One encoder mode per file; the run plan and the loop look them up here by name. A new encoder is a new file with
its module, a `build(plan, device)` factory and a KIND, plus one line below (and its name in core/align/config.py).

- lookup: free vectors per query and document (no text);
- adapter: frozen base vectors through a trainable residual head;
- finetune: the whole sentence-transformers model trained on the texts;
- memory: a query attends over the corpus's nodes and reads out their learned values.
"""

from core.align.encoders import adapter, finetune, lookup, memory
from core.align.encoders.adapter import AdapterEncoder
from core.align.encoders.base import EncoderKind, encode_all, encode_new_queries
from core.align.encoders.finetune import FinetuneEncoder
from core.align.encoders.head import HEADS, Head
from core.align.encoders.lookup import LookupEncoder
from core.align.encoders.memory import MemoryEncoder

ENCODER_KINDS: dict[str, EncoderKind] = {
    "memory": memory.KIND,
    "lookup": lookup.KIND,
    "adapter": adapter.KIND,
    "finetune": finetune.KIND,
}

__all__ = ["ENCODER_KINDS", "HEADS", "AdapterEncoder", "EncoderKind", "FinetuneEncoder", "Head", "LookupEncoder",
           "MemoryEncoder", "encode_all", "encode_new_queries"]
