"""Peer-to-peer sync of event batches between hosts: the pure protocol core.

See docs/sync-protocol.md. Nothing here does I/O: :class:`~clare.sync.node.SyncNode`
takes messages, timer ticks and the store's answers, and returns actions for
the gossip node to carry out.
"""
