"""Rendering: whose-fault statuses, filters, autoescaping."""

from __future__ import annotations

from clare.core import errors
from clare.web.render import ENV, error_json, status_of


def test_status_says_whose_fault() -> None:
    assert status_of(errors.NotFound("x")) == 404
    assert status_of(errors.Ambiguous("x")) == 400
    assert status_of(errors.InvalidTransition("x")) == 409
    assert status_of(errors.UsageError("x")) == 400
    assert status_of(errors.ServiceUnavailable("x")) == 503
    assert status_of(errors.StorageError("x")) == 503
    assert status_of(errors.FrameTooLarge("x")) == 502
    assert status_of(errors.ConfigError("x")) == 500
    assert status_of(errors.ClareError("x")) == 500


def test_error_json_shape() -> None:
    response = error_json(errors.NotFound("no task t-1"))
    assert response.status_code == 404
    assert response.body == b'{"error":{"code":"not_found","message":"no task t-1"}}'


def test_filters_and_escaping() -> None:
    render = ENV.from_string("{{ n|tokens }} {{ t|when }} {{ i|short }} {{ s }}").render
    assert render(n=999, t="", i="abc", s="<x>") == "999 - abc &lt;x&gt;"
    assert render(n=12_345, t="2026-01-02T03:04:05.000+00:00", i="0123456789abcdef", s="") == (
        "12.3k 2026-01-02 03:04:05 01234567 "
    )
    assert render(n=2_500_000, t=None, i=None, s="").startswith("2.5M - ")
