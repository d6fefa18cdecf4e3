"""What a training run is asked to do: one frozen dataclass, its per-method defaults, and its checks.

Options left at None take the default of their method and encoder (`resolve`), because good settings differ by an
order of magnitude between free lookup tables and a head on a text model: a lookup table wants lr 0.05 and raw dot
products, an adapter lr 1e-3. `validate` checks every field before anything is written, the way scikit-learn declares
parameter constraints, so a bad option is one line of error and never a half-made run folder.

One temperature vocabulary for every method: logits = similarity / temperature, where similarity is the cosine of unit
vectors (`cosine`) or the raw inner product of vectors with free lengths (`dot`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from core.errors import InputError

METHODS = ("memory", "hr", "flat", "heal", "hce")
ENCODERS = ("memory", "lookup", "adapter", "finetune")
RECIPES = ("standard", "pretrain-finetune")
SIMILARITIES = ("cosine", "dot")
HEADS = ("linear", "mlp")
MEMORY_KEYS = ("auto", "documents", "clauses")
PAIR_METHODS = ("hr", "flat")  # methods trained on (query, ancestor) pairs: the only ones with a far-pair phase


@dataclass(frozen=True)
class AlignConfig:
    method: str | None = None  # memory | hr | flat | heal | hce (None: memory, or hr when a non-memory encoder is named)
    encoder: str | None = None  # memory | lookup | adapter | finetune (None: memory for the memory method, else adapter)
    recipe: str = "standard"  # standard | pretrain-finetune (then a phase on far pairs only; hr and flat)
    model: str | None = None  # base sentence-transformers model of text encoders (None: bundled all-MiniLM-L6-v2)
    dim: int | None = None  # vector size of lookup tables (None: 64) and memory codes (None: one per node while small, else 256: core/align/encoders/memory.py)
    head: str = "mlp"  # adapter and memory query head: linear | mlp (residual, starts as the identity)
    hidden: int = 512  # hidden width of an mlp head
    shared_head: bool | None = None  # adapter: one head for queries and documents (None: separate for hr, else shared)
    base_weight: float | None = None  # adapter, memory: weight of the base model's cosine added to every score (None: 0.1 memory, 1 heal/hce adapter, else 0)
    length_weight: float = 1.0  # cosine adapter with base_weight > 0: penalty holding |head(x)| near 1 (w stays the base's share)
    steps: int | None = None  # optimiser steps of training (pretrain phase; memory: code phase) (None: default)
    batch_size: int = 256  # pairs (hr, flat), queries (hce, memory) or items (heal) per step
    lr: float | None = None  # Adam learning rate of training (None: 0.05 lookup, 1e-3 adapter/memory, 2e-5 finetune)
    temperature: float | None = None  # every loss: logits = similarity / temperature (None: the method's default)
    similarity: str | None = None  # cosine (unit vectors) | dot (raw inner products, free lengths) (None: default)
    sampler: str | None = None  # hr/flat pair distribution: pairs | query | weights:w0,w1,... (core/align/pairs.py)
    self_pair_weight: float = 0.0  # hr/flat: extra sampling mass on (query, its own node) pairs
    softmax_negatives: int = 0  # hr: 0 = softmax over all documents; N = over N uniformly sampled ones (corrected)
    doc_queries: bool = False  # text encoders: every node's document is also a training query for its ancestors
    hard_negatives: int = 0  # flat: each query also meets one of its N zero-shot nearest non-ancestors (0 = none)
    far_threshold: int | None = None  # pretrain-finetune: pairs this many hops apart or more are 'far' (None: default)
    far_steps: int | None = None  # pretrain-finetune: steps of the far phase (None: as many as `steps`)
    far_lr_factor: float | None = None  # pretrain-finetune: far-phase lr = lr * this (paper: 1/1000) (None: default)
    far_temperature: float | None = None  # pretrain-finetune: far-phase temperature (paper: 500) (None: default)
    heal_ragged: str = "repeat"  # heal: paths ending early repeat their deepest label, or 'drop'
    heal_weights: str = "paper"  # heal: level weights 'paper' (coarse first), 'uniform' or 'fine' (finest first)
    hce_branching: int = 10  # hce: k-means tree fan-in
    hce_memory_levels: int = 1  # hce: top levels below the root whose vectors are trainable memory
    hce_random_negatives: int = 32  # hce: random documents added to the leaf level's siblings
    hce_rebuild_every: int = 0  # hce co-training: re-encode and rebuild the tree every N steps (0 = never)
    memory_keys: str = "auto"  # memory: what queries link to: documents | clauses (and documents) | auto (the better link on validation)
    link_temperature: float = 0.02  # memory: softmax temperature of a query's attention over the node keys
    link_steps: int = 100  # memory: steps of the second phase, which trains the query head (0 = keep the zero-shot link)
    link_cloze: float = 0.0  # memory: clause keys as extra link-training queries, this many per training query (own keys hidden)
    memory_negatives: int = 4096  # memory: non-ancestor documents sampled per step for the code loss
    eval_every: int | None = None  # steps between validation evaluations and checkpoint choices (None: about 20 per run)
    eval_queries: int = 1000  # most validation queries evaluated
    validation_fraction: float = 0.1  # share of queries set aside to pick the checkpoint (text encoders)
    heldout_fraction: float = 0.2  # share of queries never trained on (the evaluation's held-out split)
    seed: int = 0  # seeds the split, the initialisation and the sampler
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps

    def validate(self) -> AlignConfig:
        """Raise InputError on the first bad field or conflicting pair of fields; returns self for chaining."""
        for f in fields(self):
            check = _CONSTRAINTS.get(f.name)
            value = getattr(self, f.name)
            if check is not None and value is not None and not check[0](value):
                raise InputError(f"--{f.name.replace('_', '-')} {value!r}", f"must be {check[1]}", check[2])
        method = self.method or default_method(self.encoder)
        encoder = self.encoder or default_encoder(method)
        if method == "memory" and encoder != "memory":
            raise InputError(f"--encoder {encoder}", "the memory method trains its own memory encoder",
                             "leave --encoder out (or use --encoder memory), or pick --method hr, flat, heal or hce")
        if encoder == "memory" and method != "memory":
            raise InputError(f"--method {method}", "the memory encoder is trained by the memory method only",
                             "use --method memory, or --encoder lookup, adapter or finetune")
        if self.recipe == "pretrain-finetune" and method not in PAIR_METHODS:
            raise InputError(f"--recipe {self.recipe}", f"the far-pair phase applies to pair methods, not {method}",
                             "use --method hr or flat with pretrain-finetune, or --recipe standard")
        if encoder == "lookup" and self.doc_queries:
            raise InputError("--doc-queries", "lookup tables have no text, so a document cannot stand in for a query",
                             "drop --doc-queries or pick a text encoder")
        if encoder == "lookup" and self.model is not None:
            raise InputError(f"--model {self.model}", "lookup tables use no text model", "drop --model or pick a text encoder")
        return self

    def resolved(self) -> AlignConfig:
        """A copy with every None option replaced by its method's and encoder's default (after validating)."""
        self.validate()
        method = self.method or default_method(self.encoder)
        encoder = self.encoder or default_encoder(method)
        values = {k: v for k, v in defaults(method, encoder).items() if getattr(self, k) is None}
        return replace(self, method=method, encoder=encoder, **values)

    @property
    def uses_clauses(self) -> bool:
        """Whether the run needs clause embeddings (the memory method linking through clause keys)."""
        return self.method == "memory" and self.memory_keys in ("clauses", "auto")


def default_method(encoder: str | None) -> str:
    """The memory method, unless another encoder is asked for: then HR, the method the lookup and adapter modes
    were built for (the pretrain-finetune recipe is HR's)."""
    return "memory" if encoder in (None, "memory") else "hr"


def default_encoder(method: str) -> str:
    return "memory" if method == "memory" else "adapter"


def defaults(method: str, encoder: str) -> dict:
    """The settings a None option takes; measured choices, documented in docs/reproduction.md."""
    lookup, finetune = encoder == "lookup", encoder == "finetune"
    out = {
        "dim": None if encoder == "memory" else 64,  # the memory sizes its codes from the corpus (core/align/encoders/memory.py)
        "steps": 3000 if lookup else 300 if finetune else None if encoder == "memory" else 400,  # memory: from n
        "lr": 0.05 if lookup else 2e-5 if finetune else 1e-3,
        "similarity": "cosine",
        "temperature": {"flat": 0.05, "hr": 0.05, "heal": 0.07, "hce": 0.05, "memory": 0.2}[method],
        "sampler": "pairs",
        "shared_head": method != "hr",
        # memory: best on validation queries (docs/reproduction.md); heal and hce adapters: the head alone fell below the
        # base model on held-out documents and queries, w = 1 kept or lifted it (docs/benchmarks.md, "The head alone";
        # docs/reproduction.md, "HEAL and HCE adapters: the base weight")
        "base_weight": 0.1 if encoder == "memory" else 1.0 if encoder == "adapter" and method in ("heal", "hce") else 0.0,
        "far_threshold": 2,
        "far_lr_factor": 0.01,
        "far_temperature": 500.0,
    }
    if method == "hr" and lookup:  # the HR paper's setting: raw dot products, T = 20 then 500, a short-heavy sampler
        out.update(similarity="dot", temperature=20.0, sampler="weights:0.85,0.1,0.04,0.01")
    elif method == "hr" and encoder == "adapter":  # best adapter found: separate heads, free lengths, dot / 0.05
        out.update(similarity="dot", temperature=0.05, far_threshold=3, far_lr_factor=0.1, far_temperature=0.05)
    elif method == "hr" and finetune:
        out.update(far_lr_factor=0.1, far_temperature=0.05)
    return out


# --- what a tuning study searches (core/tuning/) --------------------------------------------------------------------
# Plain declarations, so the engine needs no Optuna to read them; core/tuning/ turns them into Optuna's suggestions.
# Every method's and encoder's default lies inside its space (tests/test_tuning.py), so a study can start from it.


@dataclass(frozen=True)
class Dimension:
    """One searched option: a float or int range (log-scaled where the option spans orders of magnitude), or a choice.
    `when` names another option and the values it must take for this one to matter (e.g. the far phase's settings
    only with recipe pretrain-finetune)."""

    kind: str  # float | int | choice
    low: float | None = None  # float, int: smallest value
    high: float | None = None  # float, int: largest value
    log: bool = False  # float, int: sample on a log scale
    step: int | None = None  # int: grid step
    choices: tuple = ()  # choice: the values
    when: tuple[str, tuple] | None = None  # (option, values it must take) for this option to be searched

    def contains(self, value) -> bool:
        if self.kind == "choice":
            return value in self.choices
        return value is not None and self.low <= value <= self.high


def _float(low: float, high: float, log: bool = False, when=None) -> Dimension:
    return Dimension("float", low, high, log=log, when=when)


def _int(low: int, high: int, step: int = 1, log: bool = False, when=None) -> Dimension:
    return Dimension("int", low, high, log=log, step=step, when=when)


def _pick(*choices, when=None) -> Dimension:
    return Dimension("choice", choices=tuple(choices), when=when)


_FAR = ("recipe", ("pretrain-finetune",))
_MLP = ("head", ("mlp",))


def search_space(method: str, encoder: str) -> dict[str, Dimension]:
    """What a study may vary for `method` trained with `encoder`: ranges around the measured defaults (`defaults`),
    an order of magnitude either side for rates and temperatures, and at most about twice the default's cost per trial
    (steps, batch) so that a study of tens of trials fits in minutes. The split (seed, fractions) is never searched:
    the validation queries must stay the same for every trial, and the held-out ones out of reach."""
    lookup = encoder == "lookup"
    space: dict[str, Dimension] = {}
    if encoder == "lookup":
        space.update(lr=_float(0.005, 0.5, log=True), steps=_int(1000, 6000, step=500), dim=_pick(32, 64, 128))
    elif encoder == "adapter":
        space.update(lr=_float(1e-4, 1e-2, log=True), steps=_int(100, 600, step=50), head=_pick("linear", "mlp"),
                     hidden=_pick(128, 256, 512, 1024, when=_MLP))
    elif encoder == "finetune":
        space.update(lr=_float(5e-6, 1e-4, log=True), steps=_int(100, 600, step=50))
    if method == "memory":  # the code phase's size comes from the corpus; the link phase and the head are searched
        space.update(lr=_float(1e-4, 1e-2, log=True), temperature=_float(0.05, 1.0, log=True),
                     head=_pick("linear", "mlp"), hidden=_pick(128, 256, 512, 1024, when=_MLP),
                     base_weight=_float(0.0, 0.5), link_temperature=_float(0.005, 0.1, log=True),
                     link_steps=_int(0, 300, step=25), link_cloze=_float(0.0, 2.0))
        return space
    if encoder in ("adapter", "finetune"):  # every node's document also trains, as a query for its ancestors
        space["doc_queries"] = _pick(False, True)
    dot_lookup = method == "hr" and lookup  # raw dot products of free vectors: temperatures of another scale
    space["temperature"] = _float(5.0, 50.0, log=True) if dot_lookup else _float(0.01, 0.2, log=True)
    if encoder == "adapter":
        space["base_weight"] = _float(0.0, 2.0)
    if method in PAIR_METHODS:
        space.update(batch_size=_pick(128, 256, 512), recipe=_pick(*RECIPES), far_threshold=_int(2, 4, when=_FAR),
                     far_steps=_int(50, 300, step=50, when=_FAR),
                     far_lr_factor=_float(1e-3, 1.0, log=True, when=_FAR),
                     far_temperature=(_float(50.0, 1000.0, log=True, when=_FAR) if dot_lookup
                                      else _float(0.01, 0.2, log=True, when=_FAR)),
                     self_pair_weight=_float(0.0, 0.5))
        if not lookup:
            space["similarity"] = _pick(*SIMILARITIES)
        if method == "hr" and encoder == "adapter":
            space["shared_head"] = _pick(False, True)
        if method == "flat" and not lookup:
            space["hard_negatives"] = _pick(0, 5, 20)
    elif method == "heal":
        space["heal_weights"] = _pick("paper", "uniform", "fine")
    elif method == "hce":
        space.update(hce_branching=_int(4, 20), hce_memory_levels=_int(0, 2), hce_random_negatives=_pick(0, 16, 32, 64))
    return space


TUNING_EVAL_EVERY = {"lookup": 250, "adapter": 25, "memory": 25, "finetune": 50}  # steps between a trial's reports


def _positive(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _non_negative(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x >= 0


def _fraction(x) -> bool:
    return isinstance(x, int | float) and 0 <= x < 1


def _choice(options):
    return (lambda x: x in options, f"one of {', '.join(options)}", f"use one of {', '.join(options)}")


def _int_at_least(low: int):
    return (lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= low, f"an integer >= {low}",
            f"give a whole number of at least {low}")


_POSITIVE = (_positive, "a positive number", "give a number above 0, e.g. 0.001")
_CONSTRAINTS = {
    "method": _choice(METHODS),
    "encoder": _choice(ENCODERS),
    "recipe": _choice(RECIPES),
    "similarity": _choice(SIMILARITIES),
    "head": _choice(HEADS),
    "heal_ragged": _choice(("repeat", "drop")),
    "heal_weights": _choice(("paper", "uniform", "fine")),
    "memory_keys": _choice(MEMORY_KEYS),
    "dim": _int_at_least(1),
    "hidden": _int_at_least(1),
    "steps": _int_at_least(1),
    "far_steps": _int_at_least(1),
    "batch_size": _int_at_least(2),
    "far_threshold": _int_at_least(1),
    "hce_branching": _int_at_least(2),
    "hce_memory_levels": _int_at_least(0),
    "hce_random_negatives": _int_at_least(0),
    "hce_rebuild_every": _int_at_least(0),
    "memory_negatives": _int_at_least(1),
    "link_steps": _int_at_least(0),
    "hard_negatives": _int_at_least(0),
    "softmax_negatives": _int_at_least(0),
    "eval_every": _int_at_least(1),
    "eval_queries": _int_at_least(1),
    "seed": _int_at_least(0),
    "lr": _POSITIVE,
    "temperature": _POSITIVE,
    "far_lr_factor": _POSITIVE,
    "far_temperature": _POSITIVE,
    "link_temperature": _POSITIVE,
    "link_cloze": (_non_negative, "a number >= 0", "give 0 for none, or e.g. 1 (one clause query per training query)"),
    "base_weight": (_non_negative, "a number >= 0", "give 0 for none, or a positive weight"),
    "length_weight": (_non_negative, "a number >= 0", "give 0 for none, or a positive weight, e.g. 1"),
    "self_pair_weight": (_fraction, "a number in [0, 1)", "give a share between 0 and 1"),
    "validation_fraction": (lambda x: isinstance(x, int | float) and 0 < x < 1, "a number in (0, 1)",
                            "give a share between 0 and 1, e.g. 0.1"),
    "heldout_fraction": (_fraction, "a number in [0, 1)", "give a share between 0 and 1, e.g. 0.2"),
}
