"""Kill -9 of a random node under load, round after round, on a synced pair.

Each round: clients on both hosts add tasks without pause; at a random moment
a random node (writer, projector, poller, gossip or web) of a random host gets
SIGKILL; the load goes on a little longer, then stops. After the round every
acknowledged command is stored exactly once, every node runs again under the
supervisor, the views equal a rebuild on both hosts, and the hosts converge.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from tests.reliability.harness import (
    NODES,
    Load,
    kill_node,
    stored_events,
    wait_all_up,
    wait_converged,
)

if TYPE_CHECKING:
    from tests.reliability.harness import Pair

pytestmark = pytest.mark.slow

CI_ROUNDS = 3
LONG_ROUNDS = 40


def test_random_kill_9_rounds_lose_and_duplicate_nothing(
    pair: Pair, long_mode: bool, figures: dict[str, Any]
) -> None:
    rounds = LONG_ROUNDS if long_mode else CI_ROUNDS
    rng = random.Random(int(time.time()))
    loads = {"a": Load(pair.a, "pa", 3, "ca"), "b": Load(pair.b, "pb", 2, "cb")}
    hosts = {"a": pair.a, "b": pair.b}
    killed: Counter[str] = Counter()
    # In CI, each round kills a different node, so three rounds cover three of five.
    order = rng.sample(NODES, len(NODES))
    for n in range(rounds):
        node = order[n % len(order)] if not long_mode else rng.choice(NODES)
        host = rng.choice("ab")
        for load in loads.values():
            load.start()
        time.sleep(rng.uniform(0.1, 1.0))
        kill_node(hosts[host], node)
        killed[f"{host}:{node}"] += 1
        time.sleep(rng.uniform(0.1, 0.6))
        for load in loads.values():
            load.stop()
        for name, stack in hosts.items():
            wait_all_up(stack)
            loads[name].check_exactly_once()
        for stack in hosts.values():
            verify = stack.clare("verify", check=False)
            assert verify.returncode == 0, f"round {n}, {host}:{node} killed: {verify.stdout}"
        wait_converged(pair.stacks(), 60)
    # What one host acknowledged, the other holds too, under the same id.
    for mine, other in (("a", "b"), ("b", "a")):
        ids = {e.id for e in stored_events(hosts[other])}
        assert set(loads[mine].acked.values()) <= ids
    acked = sum(len(load.acked) for load in loads.values())
    assert acked > 0
    figures["crash"] = {
        "rounds": rounds,
        "kills": dict(sorted(killed.items())),
        "acknowledged": acked,
        "gave_up": sum(load.gave_up for load in loads.values()),
    }
