"""Every socket name of a host, in one place.

Nodes bind ``ipc://`` files in the instance's runtime folder (mode 0700, so
other users cannot connect). Names are short because a Unix socket path is
limited to 107 bytes.
"""

from __future__ import annotations

from clare.core.record import Record
from clare.runtime.paths import InstancePaths, ipc_endpoint

WRITER_COMMANDS = "writer.cmd"
WRITER_EVENTS = "writer.pub"
PROJECTOR_VIEWS = "proj.pub"
PROJECTOR_CONTROL = "proj.ctl"
#: The topic of the projector's notices that the views moved.
VIEW_TOPIC = b"view"
#: The same notice again, only when dispatch requests changed (or the views were
#: rebuilt): the dispatcher's doorbell. Not prefixed by ``VIEW_TOPIC``, which
#: ZeroMQ matches as a prefix, so the page's streams do not hear it twice.
DISPATCH_TOPIC = b"dispatch"
POLLER_EVENTS = "poller.pub"
GOSSIP_EVENTS = "gossip.pub"
WEB_EVENTS = "web.pub"
GOSSIP_CONTROL = "gossip.ctl"

#: How many messages a subscriber of the writer's PUB queues before ZeroMQ
#: drops more. A message is one group commit's events (at most
#: ``published.MAX_EVENTS`` of them, about ``published.MAX_BYTES``), so this
#: bounds a subscriber's queue to some 20,000 events or 13 MB. Subscribers fill
#: any gap from SQLite, so it bounds memory, not data.
SUB_HWM = 200

#: Every PUB socket by node name, for ``clare tap``.
PUBLISHERS = {
    "writer": WRITER_EVENTS,
    "projector": PROJECTOR_VIEWS,
    "poller": POLLER_EVENTS,
    "gossip": GOSSIP_EVENTS,
    "web": WEB_EVENTS,
}


class Endpoints(Record):
    paths: InstancePaths

    def ipc(self, name: str) -> str:
        return ipc_endpoint(self.paths.runtime_dir / name)

    def socket_file(self, name: str) -> str:
        return str(self.paths.runtime_dir / name)

    @property
    def writer_commands(self) -> str:
        return self.ipc(WRITER_COMMANDS)

    @property
    def writer_events(self) -> str:
        return self.ipc(WRITER_EVENTS)

    @property
    def projector_views(self) -> str:
        return self.ipc(PROJECTOR_VIEWS)
