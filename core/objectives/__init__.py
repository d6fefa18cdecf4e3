"""One training method per file; the loop in core/train.py looks them up here by name. A new method is a new file
with an Objective subclass, plus one line below."""

from core.objectives.base import Objective, Phase
from core.objectives.flat import FlatObjective
from core.objectives.hce import HCEObjective
from core.objectives.heal import HEALObjective
from core.objectives.hr import HRObjective
from core.objectives.memory import MemoryObjective

OBJECTIVES: dict[str, type[Objective]] = {
    "memory": MemoryObjective,
    "hr": HRObjective,
    "flat": FlatObjective,
    "heal": HEALObjective,
    "hce": HCEObjective,
}

__all__ = ["OBJECTIVES", "Objective", "Phase"]
