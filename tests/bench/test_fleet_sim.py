from __future__ import annotations

from bench.fleet_sim import FleetSim, table


def test_a_small_fleet_with_churn_delivers_every_event_to_every_member() -> None:
    bounded = FleetSim(12, 4, 15, duration_ms=14_000).run()  # raises if a member missed one
    mesh = FleetSim(12, 12, 15, duration_ms=14_000).run()
    assert bounded.events == mesh.events == 15
    assert bounded.p50_ms <= bounded.p99_ms
    assert bounded.partition_heal_ms > 0  # events were written during a cut, and healed
    assert "| 12 | 4 | 15 |" in table([(bounded, mesh)])
