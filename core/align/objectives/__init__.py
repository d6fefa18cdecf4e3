"""One training method per file; the loop in core/align/train.py looks them up here by name. A new method is a new file
with an Objective subclass, plus one line below."""

from core.align.objectives.base import Objective, Phase
from core.align.objectives.flat import FlatObjective
from core.align.objectives.hce import HCEObjective
from core.align.objectives.heal import HEALObjective
from core.align.objectives.hr import HRObjective
from core.align.objectives.memory import MemoryObjective

OBJECTIVES: dict[str, type[Objective]] = {
    "memory": MemoryObjective,
    "hr": HRObjective,
    "flat": FlatObjective,
    "heal": HEALObjective,
    "hce": HCEObjective,
}

__all__ = ["OBJECTIVES", "Objective", "Phase"]
