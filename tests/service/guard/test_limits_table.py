"""The README's limits table names every limit setting."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
PREFIXES = ("http_", "rate_limit_", "jobs_", "ws_max_", "ws_message", "ws_subscribe", "ws_key")


def test_every_limit_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Limits") : readme.index("## Architecture")]
    names = [n for n in Settings.model_fields if n.startswith(PREFIXES) or n.endswith("_max_jobs")]
    assert len(names) >= 20
    missing = [n for n in names if f"`{n}`" not in table]
    assert not missing, missing
