"""Settings of the stream adapter and hub, read from :class:`service.settings.Settings`.

The ``ws_*`` fields of ``Settings`` configure the stream; until they are declared
there, the defaults below apply (each field is looked up by name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from service.settings import Settings
from service.stream.hub import OverlayHub, Serializer

__all__ = ["HubConfig", "StreamConfig", "build_hub"]


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """What the WebSocket adapter needs (``Settings.ws_<name>``).

    ``allowed_origins``: browser origins allowed besides the service's own host
    (``"*"`` allows any); requests without an ``Origin`` (native clients) always pass.
    """

    allowed_origins: tuple[str, ...] = ()
    auth_timeout_s: float = 10.0
    max_message_bytes: int = 64 * 1024
    send_timeout_s: float = 10.0
    close_timeout_s: float = 5.0
    sweep_interval_s: float = 1.0
    key_check_interval_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamConfig:
        """The ``ws_*`` fields of ``settings`` (defaults for those not declared)."""
        return cls(**_read(cls, settings))


@dataclass(frozen=True, slots=True)
class HubConfig:
    """The hub's limits (``Settings.ws_<name>``), see :class:`OverlayHub`."""

    history_len: int = 256
    history_max_bytes: int = 1 << 20
    outbox_limit: int = 10_000
    outbox_max_bytes: int = 8 << 20
    stall_timeout_s: float = 30.0
    near_range_m: float = 60.0
    hysteresis_m: float = 10.0
    move_deadband_m: float = 8.0
    move_smoothing: bool = True
    max_sessions: int = 10_000
    max_detached: int = 1000
    detached_ttl_s: float = 120.0
    max_sessions_per_key: int = 50
    max_messages_per_s: float = 100.0
    message_burst: int = 200
    max_subscribes_per_s: float = 2.0
    subscribe_burst: int = 10
    max_messages_per_key_per_s: float = 200.0
    key_message_burst: int = 400
    max_connects_per_key_per_s: float = 5.0
    connect_burst: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> HubConfig:
        """The ``ws_*`` fields of ``settings`` (defaults for those not declared)."""
        return cls(**_read(cls, settings))


def _read(cls: type[Any], settings: Settings) -> dict[str, Any]:
    values = {}
    for f in fields(cls):
        value = getattr(settings, f"ws_{f.name}", None)
        if value is not None:
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return values


def build_hub(
    settings: Settings, serialize: Serializer, clock: Callable[[], float] | None = None
) -> OverlayHub:
    """An :class:`OverlayHub` configured by ``settings``."""
    config = HubConfig.from_settings(settings)
    options: dict[str, Any] = {f.name: getattr(config, f.name) for f in fields(HubConfig)}
    if clock is not None:
        options["clock"] = clock
    return OverlayHub(serialize, **options)
