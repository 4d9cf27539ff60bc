"""Stream settings come from ``Settings.ws_*`` once declared there."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings
from service.stream.access import bearer_key, origin_allowed
from service.stream.config import HubConfig, StreamConfig, build_hub
from tests.service.stream.helpers import serialize


class StreamSettings(Settings):
    """Settings with some of the ``ws_*`` fields the stream reads."""

    ws_auth_timeout_s: float = 3.0
    ws_allowed_origins: tuple[str, ...] = ("https://ar.example.org",)
    ws_outbox_limit: int = 77


def test_defaults_without_the_fields(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert StreamConfig.from_settings(settings) == StreamConfig()
    assert HubConfig.from_settings(settings) == HubConfig()


def test_fields_are_read_when_declared(tmp_path: Path) -> None:
    settings = StreamSettings(data_dir=tmp_path)
    config = StreamConfig.from_settings(settings)
    assert config.auth_timeout_s == 3.0 and config.allowed_origins == ("https://ar.example.org",)
    assert build_hub(settings, serialize).outbox_limit == 77


def test_origin_rules() -> None:
    assert origin_allowed(None, "h", ())
    assert origin_allowed("https://H", "h", ())
    assert not origin_allowed("https://h.evil", "h", ())
    assert origin_allowed("https://x.org/", "h", ("https://x.org",))
    assert origin_allowed("https://any", "h", ("*",))
    assert not origin_allowed("null", "h", ())


def test_bearer_key() -> None:
    assert bearer_key("Bearer abc") == "abc"
    assert bearer_key("bearer  abc ") == "abc"
    assert bearer_key("Basic abc") is None
    assert bearer_key("Bearer ") is None
    assert bearer_key(None) is None
