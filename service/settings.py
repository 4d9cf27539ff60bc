"""Service settings, read from ``BLIGHTMAP_*`` environment variables or given directly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.guard.rate import check_rate

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the service can be configured with.

    Every field can be set as ``BLIGHTMAP_<NAME>`` in the environment, and the
    command line exposes the common ones (``--data``, ``--host``, ``--port``...).
    """

    model_config = SettingsConfigDict(env_prefix="BLIGHTMAP_", frozen=True, extra="forbid")

    data_dir: Path = Field(Path("data"), description="Directory holding the store file.")
    store: Literal["geopackage"] = Field("geopackage", description="Storage backend.")
    database_url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?://",
        description="postgresql://user@host:port/dbname: store everything in PostgreSQL + "
        "PostGIS instead of the embedded GeoPackage (several replicas may share it).",
    )
    database_schema: str = Field(
        "blightmap",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema holding the tables (created and migrated at start).",
    )
    database_pool_size: int = Field(10, ge=1, le=1000, description="Connections per process.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    demo: bool = Field(False, description="Fill an empty store with the demo district.")
    demo_seed: int = 7
    open_reads: bool = Field(True, description="Allow reads without an API key.")
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest accepted request body (413 beyond)."
    )
    max_observations_per_request: int = Field(10_000, ge=1)
    max_page_limit: int = Field(10_000, ge=1, description="Largest 'limit' on items.")
    default_page_limit: int = Field(10, ge=1)
    district_margin_m: float = Field(
        1_000.0, gt=0, description="Observations farther than this from every tower are refused."
    )
    tower_max_distance_m: float = Field(
        50_000.0, gt=0, description="New towers farther than this from the district are refused."
    )
    base_height_tolerance_m: float = Field(
        200.0,
        gt=0,
        le=10_000,
        description="A tower's base_height_m (ellipsoidal) further than this from the "
        "EGM2008 geoid height at its centre is refused as implausible.",
    )
    district_max_span_m: float = Field(
        5_000.0,
        gt=0,
        description="New towers that would make the district wider or taller than this "
        "are refused (the field's grid grows with the district's extent).",
    )
    earliest_time_utc: AwareDatetime = Field(
        datetime(2000, 1, 1, tzinfo=UTC),
        description="observed_at / applied_at before this instant are refused (422).",
    )
    future_tolerance_s: float = Field(
        300.0, ge=0, le=86_400, description="Clock skew allowed for times in the future."
    )

    field_method: Literal["auto", "idw", "kriging", "kriging-local"] = Field(
        "auto",
        description="Interpolation method; auto serves seam-free kriging unless IDW's LOO "
        "RMSE is more than 10 % lower.",
    )
    field_resolution_m: float = Field(5.0, gt=0, le=1000, description="Grid cell size.")
    field_pad_m: float = Field(50.0, ge=0, description="Grid margin around the towers.")
    field_window_days: float = Field(7.0, gt=0, description="Observations older are ignored.")
    field_half_life_days: float = Field(2.0, gt=0, description="Age at which weight halves.")
    field_vertical_scale: float = Field(
        10.0, gt=0, description="1 m of height counts as this many metres of distance."
    )
    field_debounce_s: float = Field(
        0.3, ge=0, description="Wait after new data before recomputing the field."
    )
    zone_thresholds: tuple[float, ...] = Field(
        (0.2, 0.4, 0.6), description="Severity band edges of the remedy zones."
    )
    zone_margin_m: float = Field(5.0, ge=0, description="Safety buffer around zones.")

    vendor_dir: Path | None = Field(
        None,
        description=(
            "A node_modules directory of the npm packages served to browsers (three.js,"
            " MapLibre GL JS, Swagger UI, Redoc); by default those built into the"
            " package, then the source tree's node_modules."
        ),
    )

    cors_origins: tuple[str, ...] = Field(
        ("*",),
        description="Origins that may fetch /assets and /schemas cross-origin ('*' = any; "
        "empty = none). Both are public; the rest of the API has no CORS.",
    )
    ws_allowed_origins: tuple[str, ...] = Field(
        (),
        description="Browser origins allowed on /ws/overlays besides the host ('*' = any).",
    )
    ws_auth_timeout_s: float = Field(10.0, gt=0)
    ws_max_message_bytes: int = Field(65_536, ge=1024)
    ws_send_timeout_s: float = Field(10.0, gt=0)
    ws_close_timeout_s: float = Field(5.0, gt=0)
    ws_sweep_interval_s: float = Field(1.0, gt=0)
    ws_history_len: int = Field(256, ge=1)
    ws_history_max_bytes: int = Field(1 << 20, ge=0)
    ws_outbox_limit: int = Field(10_000, ge=1)
    ws_outbox_max_bytes: int = Field(8 << 20, ge=1024)
    ws_stall_timeout_s: float = Field(30.0, gt=0)
    ws_near_range_m: float = Field(60.0, gt=0)
    ws_hysteresis_m: float = Field(
        10.0, ge=0, description="An overlay in view leaves at reach + max(this, accuracy_m)."
    )
    ws_move_deadband_m: float = Field(
        8.0, ge=0, description="The view follows the smoothed position once it moved this far."
    )
    ws_move_smoothing: bool = Field(True, description="Smooth position fixes (Kalman).")
    ws_max_sessions: int = Field(10_000, ge=1)
    ws_max_detached: int = Field(1000, ge=0)
    ws_detached_ttl_s: float = Field(120.0, ge=0)
    ws_max_sessions_per_key: int = Field(50, ge=1, description="Open sessions per key (4030).")
    ws_max_messages_per_s: float = Field(
        100.0, ge=0, description="Client messages per second and connection (4029; 0 = any)."
    )
    ws_message_burst: int = Field(200, ge=1, description="Messages allowed at once beyond it.")
    ws_max_subscribes_per_s: float = Field(
        2.0, ge=0, description="subscribe messages per second and connection (4029; 0 = any)."
    )
    ws_subscribe_burst: int = Field(10, ge=1, description="subscribes allowed at once beyond it.")
    ws_max_messages_per_key_per_s: float = Field(
        200.0, ge=0, description="Client messages per second over all of a key's sessions (4029)."
    )
    ws_key_message_burst: int = Field(400, ge=1, description="A key's messages at once beyond it.")
    ws_max_connects_per_key_per_s: float = Field(
        5.0, ge=0, description="New sessions per second of one key (4029; 0 = any)."
    )
    ws_connect_burst: int = Field(50, ge=1, description="A key's new sessions at once beyond it.")
    ws_key_check_interval_s: float = Field(
        2.0, gt=0, description="Sessions of a revoked key are closed (4031) within this."
    )
    ws_ping_interval_s: float = Field(20.0, gt=0)
    ws_ping_timeout_s: float = Field(20.0, gt=0)
    http_max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Largest request head (request line + headers), 431 beyond."
    )
    http_max_headers: int = Field(100, ge=10, description="Most header fields (431 beyond).")
    http_header_timeout_s: float = Field(
        10.0, gt=0, description="Time to send a request head (408 after; idle: closed)."
    )
    http_body_timeout_s: float = Field(
        60.0, gt=0, description="Time to send a request body after its head (408 after)."
    )
    http_keep_alive_s: int = Field(5, ge=1, description="Idle keep-alive connections close (s).")
    http_max_connections: int = Field(
        10_000, ge=0, description="Open connections (idle ones are closed first; 0 = no cap)."
    )
    http_max_connections_per_ip: int = Field(
        1_000, ge=0, description="Open connections per client IP (503 beyond; 0 = no cap)."
    )
    rate_limit_writes: str = Field(
        "30/second;1200/minute",
        description="Writes per key (limits notation, ';' between several; '' = none), 429.",
    )
    rate_limit_jobs: str = Field(
        "10/minute", description="Forecast, comparison and export submissions per key, 429."
    )
    jobs_max_active_per_key: int = Field(
        3, ge=1, description="Queued or running jobs per key and kind (forecasts, exports), 429."
    )
    forecast_max_jobs: int = Field(
        100, ge=1, description="Forecast jobs kept; only finished ones are evicted (503 when full)."
    )
    export_max_jobs: int = Field(
        50, ge=1, description="Export jobs kept; only finished ones are evicted (503 when full)."
    )
    asset_cache_bytes: int = Field(256 << 20, ge=1 << 20, description="Memory for GLB assets.")
    export_max_tiles: int = Field(
        100_000, ge=1, description="Most tiles one export may render (all tile sets together)."
    )

    forecast_history_days: int = Field(
        21, ge=2, le=365, description="Days of observations forecasts are calibrated on."
    )
    forecast_calibration_simulations: int = Field(
        400, ge=20, description="ABC model runs of a calibration fit (an update: 3/8 of it)."
    )
    forecast_calibration_max_s: float = Field(
        30.0, gt=0, description="Time budget of a calibration, and of its hindcast, seconds."
    )
    forecast_skill_horizons: tuple[int, ...] = Field(
        (1, 3, 7), description="Hindcast lead times (days) of the forecasts' skill scores."
    )
    forecast_skill_runs: int = Field(100, ge=10, description="Hindcast ensemble size.")

    public_url: str | None = Field(
        None,
        pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$",
        description="Base of every absolute link (OGC links, TileJSON, job URLs), e.g. "
        "https://blight.example.org; default http://<host>:<port> (localhost when bound "
        "to every interface). Never the Host header.",
    )
    forwarded_allow_ips: tuple[str, ...] = Field(
        (),
        description="Proxies (IPs or networks) whose X-Forwarded-For/-Proto are trusted; "
        "none by default, '*' for any.",
    )
    ready_min_free_bytes: int = Field(
        64 << 20, ge=0, description="/readyz fails when the data directory has less free space."
    )
    ready_field_timeout_s: float = Field(
        10.0, gt=0, description="/readyz waits this long for the current field."
    )

    @property
    def base_url(self) -> str:
        """What absolute links start with (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.host in ("0.0.0.0", "::", ""):  # all interfaces: no address to link to
            return f"http://localhost:{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @field_validator("rate_limit_writes", "rate_limit_jobs")
    @classmethod
    def _rate(cls, value: str) -> str:
        return check_rate(value)

    @property
    def store_path(self) -> Path:
        """The GeoPackage file of the embedded store."""
        return self.data_dir / "blightmap.gpkg"
