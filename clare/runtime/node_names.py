"""The nodes of one instance: their names, what each runs, and the order they start in.

Read by `clare up`, `clare status`, doctor and the web page, none of which may
import the nodes themselves (they are the shells above): so the table lives
here, and :mod:`clare.nodes.run` imports each node lazily by the name it holds.
"""

from __future__ import annotations

#: node name -> "module:function" of its serve_* coroutine.
NODES: dict[str, str] = {
    "writer": "clare.nodes.writer:serve_writer",
    "projector": "clare.nodes.projector:serve_projector",
    "gossip": "clare.nodes.gossip:serve_gossip",
    "poller": "clare.nodes.poller:serve_poller",
    "web": "clare.nodes.web:serve_web",
}

#: The order `clare up` starts them in (the writer first: the others talk to it).
START_ORDER = ("writer", "projector", "poller", "gossip", "web")

#: Exit status of a node stopped by its configuration (sysexits.h EX_CONFIG): restarting
#: it cannot help, so a supervisor (`clare up`, systemd) leaves it stopped until the
#: person fixes the config. `clare serve` exits with it too.
EX_CONFIG = 78
