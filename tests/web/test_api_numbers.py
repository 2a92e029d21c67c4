"""A number too large for the command codec is the client's fault: 400, not 500."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.web.conftest import Web


def test_a_priority_past_64_bits_is_a_400_in_the_usual_error_shape(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "api"})
    body = {"project": "api", "title": "x", "priority": 99999999999999999999}
    response = web.post_json("/api/v1/tasks", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "usage"
    assert error["message"].startswith("priority must be between")
    assert web.client.get("/api/v1/tasks?project=api").json() == []
