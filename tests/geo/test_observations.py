"""RFC 3339 helpers: a fixed-width, zero-padded, sortable UTC text for every year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.observations import format_utc, parse_utc

BOUNDARY_YEARS = [1, 9, 10, 99, 100, 999, 1000, 1969, 1970, 2026, 9999]


@pytest.mark.parametrize("year", BOUNDARY_YEARS)
def test_every_year_is_zero_padded_and_reads_back(year: int) -> None:
    moment = datetime(year, 6, 1, 7, 8, 9, 123_000, tzinfo=UTC)
    text = format_utc(moment)
    assert len(text) == 24 and text.startswith(f"{year:04d}-06-01T07:08:09.123Z")
    assert parse_utc(text) == moment


def test_text_order_is_time_order() -> None:
    moments = [datetime(year, 1, 1, tzinfo=UTC) for year in BOUNDARY_YEARS]
    moments += [datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)]
    texts = [format_utc(m) for m in moments]
    assert sorted(texts) == [format_utc(m) for m in sorted(moments)]


def test_offsets_are_converted_and_sub_milliseconds_truncated() -> None:
    moment = datetime(1000, 1, 1, 0, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc(moment) == "0999-12-31T23:30:00.999Z"


def test_an_instant_outside_utc_years_cannot_be_formatted() -> None:
    with pytest.raises(OverflowError):
        format_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T10:00:00",
        "999-06-01T00:00:00Z",
        "yesterday",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
    ],
)
def test_parse_refuses_naive_or_malformed_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_utc(text)


MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 1, 0, 0, 0), max_value=datetime(9999, 12, 31, 23, 59, 59, 999_999)
).map(lambda naive: naive.replace(tzinfo=UTC))


@given(MOMENTS, MOMENTS)
def test_any_two_instants_format_to_fixed_width_text_in_time_order(
    a: datetime, b: datetime
) -> None:
    text_a, text_b = format_utc(a), format_utc(b)
    assert len(text_a) == len(text_b) == 24
    assert parse_utc(text_a) == a.replace(microsecond=a.microsecond // 1000 * 1000)
    if a.replace(microsecond=0) < b.replace(microsecond=0):
        assert text_a < text_b
