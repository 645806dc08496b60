"""Event-time parsing and formatting: RFC 3339 with a zone, or epoch seconds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.timestamps import INVALID, NAIVE, TimestampError, format_ts, parse_ts_seconds
from .kpi_testkit import DAY0, HOUR, nps, run

T10 = DAY0 + 10 * HOUR  # 2026-11-25T10:00:00Z


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2026-11-25T10:00:00Z", T10),
        ("2026-11-25T10:00:00z", T10),
        ("2026-11-25t10:00:00Z", T10),
        ("2026-11-25 10:00:00Z", T10),  # RFC 3339 section 5.6 note: a space may replace T
        ("2026-11-25T12:00:00+02:00", T10),
        ("2026-11-25T04:30:00-05:30", T10),
        ("2026-11-25T10:00:00+00:00", T10),
        ("2026-11-25T10:00:00-00:00", T10),
        ("2026-11-26T00:00:00+14:00", T10),  # 00:00 at +14:00 is 10:00 UTC the day before
        ("2026-11-25T10:00:00.5Z", T10 + 0.5),
        ("2026-11-25T10:00:00.250+02:00", T10 - 2 * HOUR + 0.25),
        ("2026-11-25T10:00:00.000001Z", T10 + 0.000001),
        ("2026-11-25T10:00:00.123456789Z", T10 + 0.123456),  # nanoseconds: microsecond precision kept
        ("1970-01-01T00:00:00Z", 0),
        (T10, T10),
        (T10 + 0.5, T10 + 0.5),
        (0, 0),
        (-1.5, -1.5),
    ],
)
def test_parse_accepts_rfc3339_and_epoch_seconds(value: object, seconds: float) -> None:
    assert parse_ts_seconds(value) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("value", ["2026-11-25T10:00:00", "2026-11-25 10:00:00", "2026-11-25T10:00:00.123"])
def test_parse_reports_a_missing_zone_as_naive(value: str) -> None:
    with pytest.raises(TimestampError) as info:
        parse_ts_seconds(value)
    assert info.value.reason == NAIVE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "now",
        "2026-11-25",  # a bare date
        "2026-11-25T10:00Z",  # seconds are required
        "20261125T100000Z",  # ISO basic format
        "2026-W48-3T10:00:00Z",  # ISO week date: not RFC 3339
        "2026-11-25T10:00:00+0200",  # offset without a colon: not RFC 3339
        "2026-11-25T10:00:00,5Z",  # comma decimal: not RFC 3339
        "2026-11-25T10:00:00+02:00:30",  # offset with seconds
        "2026-11-25T10:00:00 Z",
        "2026-11-25X10:00:00Z",
        "2026-02-30T10:00:00Z",
        "2026-11-25T24:00:01Z",
        "1795600800",  # epoch seconds must be a JSON number, not a string
        None,
        True,
        False,
        [2026, 11, 25],
        {"seconds": 1},
        float("nan"),
        float("inf"),
        # Outside what an RFC 3339 window start/end can express (years 0001-9999):
        1e20,
        -1e12,
        253_402_300_799,  # 9999-12-31T23:59:59Z: its day window would end in year 10000
        "9999-12-31T12:00:00Z",
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        "0001-01-01T00:30:00+01:00",  # year 0 in UTC
    ],
)
def test_parse_rejects_everything_else_as_invalid(value: object) -> None:
    with pytest.raises(TimestampError) as info:
        parse_ts_seconds(value)
    assert info.value.reason == INVALID
    assert str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (T10, "2026-11-25T10:00:00Z"),
        (0, "1970-01-01T00:00:00Z"),
        (DAY0, "2026-11-25T00:00:00Z"),
        (T10 + 0.5, "2026-11-25T10:00:00.500000Z"),
    ],
)
def test_format_ts_is_rfc3339_utc(seconds: float, text: str) -> None:
    assert format_ts(seconds) == text
    assert parse_ts_seconds(text) == seconds


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", -62_135_596_800, "9999-12-30T23:59:59.5Z", 253_402_214_399])
def test_extreme_accepted_times_still_have_formattable_day_windows(value: object) -> None:
    seconds = parse_ts_seconds(value)
    start = seconds // 86400 * 86400
    assert format_ts(start).endswith("Z") and format_ts(start + 86400).endswith("Z")


def test_mixed_timestamp_forms_land_in_the_same_windows() -> None:
    # Nine forms of 10:00:00Z (a window edge, so window 10 of 1 h windows) and three
    # forms of 10:59:59.75Z (still window 10); one event at 09:59:59.5Z is window 9.
    at_edge = [
        "2026-11-25T10:00:00Z", "2026-11-25T12:00:00+02:00", "2026-11-25T04:30:00-05:30",
        "2026-11-25T10:00:00.000Z", "2026-11-25 10:00:00z", "2026-11-25T10:00:00+00:00",
        T10, float(T10), "2026-11-26T00:00:00+14:00",
    ]
    just_before_end = ["2026-11-25T10:59:59.75Z", "2026-11-25T11:59:59.75+01:00", T10 + 3599.75]
    before = ["2026-11-25T09:59:59.5Z"]
    events = [nps(9, ts) for ts in before + at_edge + just_before_end]
    result = run(events)
    assert result.rejects == []
    assert result.windows() == [9, 10]
    assert result.value("nps_responses", 9) == 1
    assert result.value("nps_responses", 10) == 9 + 3
    # Same events, every timestamp as epoch seconds: identical rows.
    numeric = [nps(9, parse_ts_seconds(e["ts"]), event_id=e["event_id"]) for e in events]
    assert run(numeric).rows == result.rows


@settings(max_examples=2000, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_the_fraction_shortcut_is_exactly_float(digits: str) -> None:
    from kpi.timestamps import _fraction

    assert _fraction(digits) == float("." + digits)


@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=12), second=st.integers(0, 59))
def test_cached_and_uncached_parses_agree(digits: str, second: int) -> None:
    from kpi import timestamps

    text = f"2026-03-04T05:06:{second:02d}.{digits}Z"
    timestamps._UTC_PREFIXES.pop(text[:19], None)
    first = parse_ts_seconds(text)  # the full parse, which fills the prefix cache
    assert parse_ts_seconds(text) == first  # the cached fast path


@settings(max_examples=3000, deadline=None)
@given(year=st.integers(0, 9999), month=st.integers(0, 13), day=st.integers(0, 32), hour=st.integers(0, 25),
       minute=st.integers(0, 60), second=st.integers(0, 61), digits=st.text(alphabet="0123456789", max_size=18))
def test_the_digit_by_digit_utc_path_agrees_with_datetime(year: int, month: int, day: int, hour: int, minute: int,
                                                           second: int, digits: str) -> None:
    """Both paths against an independent oracle: datetime decides validity and the
    whole seconds; the fraction is float(".digits")."""
    from datetime import datetime, timezone

    from kpi import timestamps
    from kpi.timestamps import MAX_SECONDS

    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}" + (f".{digits}" if digits else "") + "Z"
    try:
        whole = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc).timestamp()
    except ValueError:  # no such date or time (month 13, 30 February, 24:00, second 60, year 0)
        with pytest.raises(TimestampError):
            parse_ts_seconds(text)
        return
    if whole >= MAX_SECONDS:
        with pytest.raises(TimestampError):
            parse_ts_seconds(text)
        return
    expected = whole + float("." + digits) if digits else whole
    timestamps._UTC_PREFIXES.pop(text[:19], None)
    assert parse_ts_seconds(text) == expected  # the general path, which fills the prefix cache
    assert parse_ts_seconds(text) == expected  # the cached fast paths


def test_every_millisecond_form_parses_like_the_general_path() -> None:
    import calendar

    base = calendar.timegm((2026, 3, 4, 5, 6, 7))
    for ms in range(1000):
        text = f"2026-03-04T05:06:07.{ms:03d}Z"
        assert parse_ts_seconds(text) == base + float(f"0.{ms:03d}"), text
        # The same instant with a fourth digit takes the general fast path.
        assert parse_ts_seconds(text[:-1] + "0Z") == parse_ts_seconds(text)
    for bad in ("2026-03-04T05:06:07.1a3Z", "2026-03-04T05:06:07.+12Z", "2026-03-04T05:06:07. 12Z", "2026-03-04T05:06:07.１２３Z"):
        with pytest.raises(TimestampError):
            parse_ts_seconds(bad)


@pytest.mark.parametrize("value", ["2026-01-01T00:00:3Z", "2026-01-01T00:00:[Z", "2026-01-01T00:00:\u0000Z", "2026-01-01T00:00:00.Z"])
def test_short_and_broken_seconds_are_invalid_not_a_crash(value: str) -> None:
    with pytest.raises(TimestampError) as err:
        parse_ts_seconds(value)
    assert err.value.reason == INVALID
