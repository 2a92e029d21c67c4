"""Every area of the domain, loaded in one named place.

Each area module defines its events, deciders and folds and adds them to the
shared tables (``events.register``, ``decide.decider``, ``fold.register_fold``)
as it loads. A process that decides or folds must see every area, and one
that only reads a constant (``clare task add`` reading the task states) must
see none of them, since each costs start-up time. So the areas are imported
here and nowhere else for that purpose, and the lookups over the complete
tables are taken from this module: whoever can call them has loaded them all.
"""

from __future__ import annotations

from clare.domain import lifecycle, messages, session_ops
from clare.domain.decide import DECIDERS, decide
from clare.domain.events import decode
from clare.domain.fold import decode_body, decode_event, fold_for, refold
from clare.domain.kinds import KINDS, kind_of

#: The areas that add to the shared tables as they load, beside the base ones
#: (tasks, projects, hosts) that ``decide`` and ``fold`` define themselves.
AREAS = (lifecycle, messages, session_ops)

__all__ = [
    "AREAS",
    "DECIDERS",
    "KINDS",
    "decide",
    "decode",
    "decode_body",
    "decode_event",
    "fold_for",
    "kind_of",
    "refold",
]
