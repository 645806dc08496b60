"""Business-hours calendars: hand-worked tables, spec errors, and a minute-stepping reference.

Expected instants in the tables are written in UTC, converted by hand from the local times
with the zone's offsets (Istanbul +03; Berlin +01/+02; New York -05/-04; Kolkata +05:30;
Lord Howe +10:30/+11), so no expected value goes through zoneinfo.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.business_hours import (
    Calendar, always_open, business_seconds, deadline, next_open, parse_calendar, parse_calendars,
)
from kpi.errors import ConfigError

H = 3600
M = 60


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def calendar(zone: str, hours: dict[str, Any], holidays: list[str] | None = None) -> Calendar:
    return parse_calendar("test", {"timezone": zone, "hours": hours, "holidays": holidays or []}, "calendars.test")


# Istanbul is UTC+03 all year; 2026-10-29 (Thursday) is Republic Day.
OFFICE = calendar("Europe/Istanbul", {"mon-fri": ["09:00-18:00"]}, ["2026-10-29"])
OFFICE_SAT = calendar("Europe/Istanbul", {"mon-fri": ["09:00-18:00"], "sat": ["10:00-14:00"]})


# --- Hand-worked tables --------------------------------------------------------------------

@pytest.mark.parametrize(("start", "amount", "expected"), [
    # Issue 16: created Friday 17:50, 1 h first-reply target: 10 min on Friday, 50 on Monday.
    ("2026-10-23T14:50", 1 * H, "2026-10-26T06:50"),
    # Wednesday 17:30 + 1 h: 30 min on Wednesday, Thursday is a holiday, 30 min on Friday.
    ("2026-10-28T14:30", 1 * H, "2026-10-30T06:30"),
    # Created on Saturday 12:00 (closed): the clock starts Monday 09:00.
    ("2026-10-24T09:00", 30 * M, "2026-10-26T06:30"),
    # Friday 17:00 + 1 h ends exactly at the closing edge, Friday 18:00, not Monday 09:00.
    ("2026-10-23T14:00", 1 * H, "2026-10-23T15:00"),
    # A zero amount is reached at the start itself, open or closed.
    ("2026-10-24T09:00", 0, "2026-10-24T09:00"),
    # 20 business hours from Monday 09:00: Mon 9 h, Tue 9 h, Wed 2 h -> Wed 11:00.
    ("2026-10-26T06:00", 20 * H, "2026-10-28T08:00"),
    # 3 business days (27 h) from Wednesday 10:00: Wed 8 h, (Thu holiday), Fri 9 h, Mon 9 h,
    # Tue 1 h -> Tuesday 2026-11-03 10:00.
    ("2026-10-28T07:00", 27 * H, "2026-11-03T07:00"),
])
def test_office_deadlines(start: str, amount: float, expected: str) -> None:
    assert deadline(OFFICE, utc(start), amount) == utc(expected)
    assert business_seconds(OFFICE, utc(start), utc(expected)) == amount


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-10-23T14:50", "2026-10-26T06:50", 1 * H),  # Friday 17:50 -> Monday 09:50
    ("2026-10-19T00:00", "2026-10-26T00:00", 45 * H),  # Monday 03:00 to Monday 03:00: 5 x 9 h
    ("2026-10-26T00:00", "2026-11-02T00:00", 36 * H),  # the week of the holiday: 4 x 9 h
    # October 2026 up to the 31st: 22 weekdays (Thu 1, Fri 2, then four full weeks), one a
    # holiday: 21 x 9 h.
    ("2026-09-30T21:00", "2026-10-30T21:00", 189 * H),
    ("2026-10-24T00:00", "2026-10-25T21:00", 0),  # a weekend
    ("2026-10-26T07:00", "2026-10-26T06:00", 0),  # end before start
    ("2026-10-26T07:00", "2026-10-26T07:00", 0),
    ("2026-10-26T06:00:00.25", "2026-10-26T06:00:01", 0.75),  # fractions of a second count
])
def test_office_business_seconds(start: str, end: str, expected: float) -> None:
    assert business_seconds(OFFICE, utc(start), utc(end)) == expected


def test_saturday_hours_count() -> None:
    # Friday 17:50 + 1 h: 10 min on Friday, then Saturday opens at 10:00 -> Saturday 10:50.
    assert deadline(OFFICE_SAT, utc("2026-10-23T14:50"), H) == utc("2026-10-24T07:50")
    # A full week: 5 x 9 h + 4 h.
    assert business_seconds(OFFICE_SAT, utc("2026-10-19T00:00"), utc("2026-10-26T00:00")) == 49 * H


def test_next_open_and_the_breach_instant() -> None:
    friday_close = utc("2026-10-23T15:00")  # 18:00 local
    assert next_open(OFFICE, friday_close) == utc("2026-10-26T06:00")  # Monday 09:00
    assert next_open(OFFICE, utc("2026-10-26T07:00")) == utc("2026-10-26T07:00")  # open: itself
    assert next_open(OFFICE, utc("2026-10-28T15:30")) == utc("2026-10-30T06:00")  # skips the holiday
    # A reply exactly at the deadline is on target (the clock stands at 1 h all weekend); the
    # clock goes over the target from Monday 09:00.
    d = deadline(OFFICE, utc("2026-10-23T14:00"), H)
    assert business_seconds(OFFICE, utc("2026-10-23T14:00"), utc("2026-10-26T06:00")) == H
    assert next_open(OFFICE, d) == utc("2026-10-26T06:00")


def test_touching_intervals_are_one_open_stretch() -> None:
    split = calendar("UTC", {"mon": ["09:00-12:00", "12:00-18:00"]})
    monday = utc("2026-10-26T00:00")
    assert business_seconds(split, monday, monday + 86_400) == 9 * H
    assert next_open(split, monday + 12 * H) == monday + 12 * H
    assert deadline(split, monday, 3 * H) == monday + 12 * H


def test_a_whole_day_and_a_night_shift_over_midnight() -> None:
    night = calendar("UTC", {"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]})
    monday = utc("2026-10-26T00:00")
    assert business_seconds(night, monday, monday + 7 * 86_400) == 8 * H
    assert deadline(night, monday + 23 * H, 2 * H) == monday + 25 * H  # over midnight, no gap
    whole = calendar("UTC", {"mon-sun": ["00:00-24:00"]})
    assert business_seconds(whole, monday + 0.5, monday + 30 * 86_400) == 30 * 86_400 - 0.5


@pytest.mark.parametrize(("zone", "hours", "day", "day_start", "expected"), [
    # Berlin springs forward on 2026-03-29 at 02:00 CET (01:00Z) to 03:00 CEST.
    ("Europe/Berlin", ["09:00-18:00"], "2026-03-29", "2026-03-28T23:00", 9 * H),  # no jump inside
    ("Europe/Berlin", ["01:00-04:00"], "2026-03-29", "2026-03-28T23:00", 2 * H),  # 00:00Z-02:00Z
    ("Europe/Berlin", ["02:30-05:00"], "2026-03-29", "2026-03-28T23:00", 2 * H),  # 02:30 missing: 01:00Z-03:00Z
    ("Europe/Berlin", ["02:15-02:45"], "2026-03-29", "2026-03-28T23:00", 0),  # wholly in the gap
    ("Europe/Berlin", ["00:00-24:00"], "2026-03-29", "2026-03-28T23:00", 23 * H),
    # Berlin falls back on 2026-10-25 at 03:00 CEST (01:00Z) to 02:00 CET.
    ("Europe/Berlin", ["09:00-18:00"], "2026-10-25", "2026-10-24T22:00", 9 * H),
    ("Europe/Berlin", ["01:00-04:00"], "2026-10-25", "2026-10-24T22:00", 4 * H),  # 23:00Z-03:00Z
    # 02:30 first occurs at 00:30Z (CEST); the clock first reads 03:00 at 02:00Z (CET).
    ("Europe/Berlin", ["02:30-03:00"], "2026-10-25", "2026-10-24T22:00", 90 * M),
    ("Europe/Berlin", ["00:00-24:00"], "2026-10-25", "2026-10-24T22:00", 25 * H),
    # New York springs forward on 2026-03-08 at 02:00 EST (07:00Z) and falls back on
    # 2026-11-01 at 02:00 EDT (06:00Z) to 01:00 EST.
    ("America/New_York", ["00:00-24:00"], "2026-03-08", "2026-03-08T05:00", 23 * H),
    ("America/New_York", ["01:00-05:00"], "2026-03-08", "2026-03-08T05:00", 3 * H),  # 06:00Z-09:00Z
    ("America/New_York", ["00:00-24:00"], "2026-11-01", "2026-11-01T04:00", 25 * H),
    # 01:30 first occurs at 05:30Z (EDT); the clock first reads 02:00 at 07:00Z (EST).
    ("America/New_York", ["01:30-02:00"], "2026-11-01", "2026-11-01T04:00", 90 * M),
    # Lord Howe moves 30 minutes: on 2026-10-04 from 02:00 +10:30 (15:30Z on the 3rd) to
    # 02:30 +11; on 2026-04-05 from 02:00 +11 (15:00Z on the 4th) back to 01:30 +10:30.
    ("Australia/Lord_Howe", ["00:00-24:00"], "2026-10-04", "2026-10-03T13:30", 23 * H + 30 * M),
    ("Australia/Lord_Howe", ["02:00-03:00"], "2026-10-04", "2026-10-03T13:30", 30 * M),  # 15:30Z-16:00Z
    ("Australia/Lord_Howe", ["00:00-24:00"], "2026-04-05", "2026-04-04T13:00", 24 * H + 30 * M),
    # 01:30 first occurs at 14:30Z (+11); 02:30 is at 16:00Z (+10:30).
    ("Australia/Lord_Howe", ["01:30-02:30"], "2026-04-05", "2026-04-04T13:00", 90 * M),
    # Kolkata is +05:30 all year.
    ("Asia/Kolkata", ["09:00-18:00"], "2026-10-30", "2026-10-29T18:30", 9 * H),
])
def test_a_dst_day(zone: str, hours: list[str], day: str, day_start: str, expected: float) -> None:
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[date.fromisoformat(day).weekday()]
    cal = calendar(zone, {weekday: hours})
    start = utc(day_start)  # the local day's 00:00
    assert business_seconds(cal, start - 86_400, start + 2 * 86_400) == expected
    if expected:
        assert business_seconds(cal, start - 86_400, deadline(cal, start - 86_400, expected)) == expected


@pytest.mark.parametrize(("zone", "first_2345"), [
    ("Australia/Lord_Howe", "2026-07-04T13:15"),  # winter, +10:30
    ("Europe/Berlin", "2026-07-04T21:45"),  # summer, +02
    ("America/New_York", "2026-01-05T04:45"),  # winter, -05: local 23:45 on the 4th
    ("Asia/Kolkata", "2026-07-04T18:15"),  # +05:30
])
def test_the_quarter_hour_around_every_local_midnight(zone: str, first_2345: str) -> None:
    # Open 23:30-24:00 every day: from 23:45 to 00:15 the next day, 15 min are open, on
    # every day of the week and in both seasons.
    cal = calendar(zone, {"mon-sun": ["23:30-24:00"]})
    for day in range(7):
        start = utc(first_2345) + day * 86_400
        assert business_seconds(cal, start, start + 30 * M) == 15 * M, day
        assert deadline(cal, start, 15 * M) == start + 15 * M, day
        assert deadline(cal, start + 15 * M, 1) == start + 23 * H + 45 * M + 1, day


@pytest.mark.parametrize(("zone", "hours", "start", "amount", "expected"), [
    # New York, Sunday 2026-03-08 01:30 EST (06:30Z) + 1 h: 01:30-02:00 is 30 min, then the
    # clock jumps to 03:00 EDT (07:00Z): deadline 03:30 EDT = 07:30Z.
    ("America/New_York", {"sun": ["01:00-05:00"]}, "2026-03-08T06:30", H, "2026-03-08T07:30"),
    # Berlin, Sunday 2026-10-25 02:30 CEST (00:30Z) + 1 h with 01:00-04:00 open: the hour
    # 02:00-03:00 happens twice, so an hour later the clock reads 02:30 CET = 01:30Z.
    ("Europe/Berlin", {"sun": ["01:00-04:00"]}, "2026-10-25T00:30", H, "2026-10-25T01:30"),
    # Kolkata, Friday 2026-10-30 17:50 IST (12:20Z) + 1 h -> Monday 09:50 IST (04:20Z).
    ("Asia/Kolkata", {"mon-fri": ["09:00-18:00"]}, "2026-10-30T12:20", H, "2026-11-02T04:20"),
    # Lord Howe, Sunday 2026-10-04 01:45 +10:30 (15:15Z on the 3rd) + 30 min with 01:00-04:00
    # open: 15 min to the jump at 02:00, which reads 02:30 +11 (15:30Z), then 15 min more.
    ("Australia/Lord_Howe", {"sun": ["01:00-04:00"]}, "2026-10-03T15:15", 30 * M, "2026-10-03T15:45"),
])
def test_deadlines_across_a_jump(zone: str, hours: dict[str, Any], start: str, amount: float, expected: str) -> None:
    cal = calendar(zone, hours)
    assert deadline(cal, utc(start), amount) == utc(expected)


def test_24x7_is_elapsed_time() -> None:
    cal = parse_calendar("round-the-clock", "24x7", "calendars.round-the-clock")
    assert cal.is_24x7 and cal.timezone == "24x7"
    start = utc("2026-03-29T00:30")  # across Berlin's jump: no zone, no jump
    assert business_seconds(cal, start, start + 3 * H + 0.5) == 3 * H + 0.5
    assert business_seconds(cal, start, start - 1) == 0
    assert deadline(cal, start, 90 * M) == start + 90 * M
    assert deadline(cal, start, 0) == start
    assert next_open(cal, start) == start
    assert always_open().is_24x7


def test_long_spans_stay_exact_past_the_cache_bound() -> None:
    # Whole days in Berlin: the open time between two local midnights is the elapsed time,
    # DST days included. Six years cross more weeks than a calendar keeps cached.
    whole = calendar("Europe/Berlin", {"mon-sun": ["00:00-24:00"]})
    start, end = utc("2019-12-31T23:00"), utc("2025-12-31T23:00")  # local 2020-01-01 .. 2026-01-01
    assert business_seconds(whole, start, end) == end - start
    assert business_seconds(whole, start, end) == end - start  # again, after evictions
    assert deadline(whole, start, end - start) == end


def test_bad_instants_raise_value_error() -> None:
    for bad in (float("nan"), float("inf"), -float("inf"), 1e300):
        with pytest.raises(ValueError):
            business_seconds(OFFICE, 0.0, bad)
        with pytest.raises(ValueError):
            deadline(OFFICE, bad, 60)
        with pytest.raises(ValueError):
            next_open(OFFICE, bad)
    with pytest.raises(ValueError):
        deadline(OFFICE, 0.0, float("inf"))


# --- The spec's plain data -----------------------------------------------------------------

def test_the_issue_example_parses() -> None:
    spec = yaml.safe_load("""
calendars:
  istanbul-office:
    timezone: Europe/Istanbul        # IANA name
    hours:                            # local wall-clock intervals per weekday
      mon-fri: ["09:00-18:00"]
      sat: ["10:00-14:00"]
    holidays: [2026-10-29, 2026-04-23]   # whole local days off
  round-the-clock: 24x7
""")
    cals = parse_calendars(spec["calendars"])
    office = cals["istanbul-office"]
    assert (office.name, office.timezone, office.is_24x7) == ("istanbul-office", "Europe/Istanbul", False)
    nine_to_six = ((9 * H, 18 * H),)
    assert office.weekly == (nine_to_six,) * 5 + (((10 * H, 14 * H),), ())
    assert office.holidays == {date(2026, 10, 29), date(2026, 4, 23)}
    assert cals["round-the-clock"].is_24x7


def test_day_names_ranges_and_forms() -> None:
    cal = calendar("Asia/Jerusalem", {"Sun-Thu": "08:00-17:00", "fri": ["08:00-12:00", "13:00-14:00"]},
                   ["2026-09-21"])
    eight_to_five = ((8 * H, 17 * H),)
    # mon..sun order; sun-thu wraps past the end of the week.
    assert cal.weekly == (eight_to_five,) * 4 + (((8 * H, 12 * H), (13 * H, 14 * H)), (), eight_to_five)
    assert calendar("UTC", {"mon": ["00:00-24:00"]}).weekly[0] == ((0, 86_400),)
    assert calendar("UTC", {"sat-sun": ["10:00-11:00"]}).weekly[5:] == (((10 * H, 11 * H),),) * 2
    assert calendar("UTC", {"mon": ["9:00 - 10:00"]}).weekly[0] == ((9 * H, 10 * H),)


@pytest.mark.parametrize(("data", "message"), [
    ({"timezone": "Europe/Istambul", "hours": {"mon": ["09:00-18:00"]}},
     "calendars.test.timezone: unknown time zone 'Europe/Istambul'"),
    ({"timezone": "Europe", "hours": {"mon": ["09:00-18:00"]}}, "calendars.test.timezone: unknown time zone"),
    ({"timezone": "", "hours": {"mon": ["09:00-18:00"]}}, "calendars.test.timezone: expected an IANA"),
    ({"hours": {"mon": ["09:00-18:00"]}}, "calendars.test: missing timezone"),
    ({"timezone": "UTC"}, "calendars.test: missing hours"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-18:00"]}, "holiday": []}, "calendars.test.holiday: unknown setting"),
    ({"timezone": "UTC", "hours": {"mon-fri": ["09:00-18:00"], "fri": ["12:00-14:00"]}},
     "calendars.test.hours.fri[0]: 12:00-14:00 overlaps 09:00-18:00 (calendars.test.hours.mon-fri[0]) on fri"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-12:00", "11:00-13:00"]}},
     "calendars.test.hours.mon[1]: 11:00-13:00 overlaps 09:00-12:00 (calendars.test.hours.mon[0]) on mon"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-12:00", "09:00-12:00"]}}, "calendars.test.hours.mon[1]: 09:00-12:00 overlaps"),
    ({"timezone": "UTC", "hours": {"mon": ["25:00-26:00"]}}, "calendars.test.hours.mon[0]: '25:00-26:00': 25:00 is not a time of day"),
    ({"timezone": "UTC", "hours": {"mon": ["09:60-18:00"]}}, "calendars.test.hours.mon[0]: '09:60-18:00': 09:60 is not a time of day"),
    ({"timezone": "UTC", "hours": {"mon": ["18:00-09:00"]}}, "calendars.test.hours.mon[0]: '18:00-09:00' does not end after it starts"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-09:00"]}}, "calendars.test.hours.mon[0]: '09:00-09:00' does not end after it starts"),
    ({"timezone": "UTC", "hours": {"mon": ["22:00-24:30"]}}, "calendars.test.hours.mon[0]: '22:00-24:30' ends after 24:00"),
    ({"timezone": "UTC", "hours": {"mon": [540]}}, "calendars.test.hours.mon[0]: expected a quoted interval"),
    ({"timezone": "UTC", "hours": {"mon": ["9-18"]}}, "calendars.test.hours.mon[0]: expected a quoted interval"),
    ({"timezone": "UTC", "hours": {"mon": {"from": "09:00"}}}, "calendars.test.hours.mon: expected a list of intervals"),
    ({"timezone": "UTC", "hours": {"monday": ["09:00-18:00"]}}, "calendars.test.hours.monday: unknown day 'monday'"),
    ({"timezone": "UTC", "hours": {"mon-fri-sat": ["09:00-18:00"]}}, "calendars.test.hours.mon-fri-sat: unknown day"),
    ({"timezone": "UTC", "hours": {"mon": []}}, "calendars.test.hours: no open hours on any day"),
    ({"timezone": "UTC", "hours": {}}, "calendars.test.hours: no open hours on any day"),
    ({"timezone": "UTC", "hours": ["09:00-18:00"]}, "calendars.test.hours: expected a mapping of days"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-18:00"]}, "holidays": "2026-10-29"}, "calendars.test.holidays: expected a list"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-18:00"]}, "holidays": ["2026-02-30"]}, "calendars.test.holidays[0]: expected a date"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-18:00"]}, "holidays": [date(2026, 1, 1), "2026-W01-1"]},
     "calendars.test.holidays[1]: expected a date"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-18:00"]}, "holidays": [datetime(2026, 1, 1, 9)]},
     "calendars.test.holidays[0]: expected a date"),
    ("25x7", "calendars.test: expected '24x7' or a mapping"),
    (None, "calendars.test: expected '24x7' or a mapping"),
])
def test_a_bad_calendar_names_the_item(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_calendar("test", data, "calendars.test")
    assert str(err.value).startswith(message), str(err.value)


def test_bad_calendar_collections() -> None:
    with pytest.raises(ConfigError, match="^calendars: expected a mapping"):
        parse_calendars(["24x7"])
    with pytest.raises(ConfigError, match="^calendars: calendar names must be non-empty strings"):
        parse_calendars({1: "24x7"})


def test_the_model_checks_its_invariants() -> None:
    utc_zone = ZoneInfo("UTC")
    with pytest.raises(ConfigError, match="some of them open"):
        Calendar("empty", utc_zone, [()] * 7, ())
    with pytest.raises(ConfigError, match="sorted, disjoint"):
        Calendar("overlap", utc_zone, [((0, 100), (50, 200))] + [()] * 6, ())
    with pytest.raises(ConfigError, match="24x7 has no weekly hours"):
        Calendar("odd", None, [((0, 100),)] + [()] * 6, ())


# --- A deliberately naive reference: step through every minute -----------------------------
#
# Local boundaries become instants by the rule of issue 16, stated as "the earliest instant at
# which the zone's clock reads the boundary or later" (the end of a spring-forward gap; the
# first of a repeated time) and found by stepping UTC minutes forward and reading the clock
# (UTC -> local is never ambiguous). All boundaries, instants and zone transitions used here
# are whole minutes, so counting open minutes is exact.

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
# Local dates of DST changes (the tz rules: EU last Sundays of March and October; US second
# Sunday of March and first of November; Lord Howe first Sundays of April and October).
TRANSITION_DAYS = {
    "Europe/Berlin": ["2025-03-30", "2025-10-26", "2026-03-29", "2026-10-25"],
    "America/New_York": ["2025-03-09", "2025-11-02", "2026-03-08", "2026-11-01"],
    "Australia/Lord_Howe": ["2025-04-06", "2025-10-05", "2026-04-05", "2026-10-04"],
    "Asia/Kolkata": ["2025-06-15", "2026-01-01"],  # no DST: any days
}
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_AHEAD_OF_UTC = 15 * H  # no zone's clock runs further ahead of UTC


def ref_boundaries(zone: ZoneInfo, walls: list[datetime]) -> list[int]:
    """For ascending local wall times, the first whole-minute instant whose clock reads each or later."""
    out = []
    u = int(walls[0].replace(tzinfo=timezone.utc).timestamp()) - MAX_AHEAD_OF_UTC
    for wall in walls:
        # Resuming from the last answer is fine: every earlier instant reads less than it.
        while datetime.fromtimestamp(u, zone).replace(tzinfo=None) < wall:
            u += M
        out.append(u)
    return out


@lru_cache(maxsize=256)
def ref_open_intervals(zone_key: str, weekly: tuple, holidays: frozenset, first: date, last: date) -> list[tuple[int, int]]:
    """The open [start, end) instants of local days first..last; weekly in minutes, mon first."""
    spans = []
    day = first
    while day <= last:
        if day not in holidays:
            midnight = datetime.combine(day, time())
            for s, e in weekly[day.weekday()]:
                spans.append((midnight + timedelta(minutes=s), midnight + timedelta(minutes=e)))
        day += timedelta(days=1)
    if not spans:
        return []
    walls = sorted({w for span in spans for w in span})
    instant = dict(zip(walls, ref_boundaries(ZoneInfo(zone_key), walls)))
    return [(instant[a], instant[b]) for a, b in spans if instant[a] < instant[b]]


class Reference:
    """Open minutes of a calendar given as plain minutes, around [start, end)."""

    def __init__(self, spec: dict[str, Any], start: int, end: int) -> None:
        self.always = spec["kind"] == "24x7"
        if self.always:
            return
        zone = ZoneInfo(spec["zone"])
        first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end, zone).date() + timedelta(days=1)
        self.intervals = sorted(ref_open_intervals(spec["zone"], spec["weekly"], spec["holidays"], first, last))

    def open_minutes(self, start: int, end: int) -> list[bool]:
        if self.always:
            return [True] * len(range(start, end, M))
        flags, j = [], 0
        for minute in range(start, end, M):
            while j < len(self.intervals) and self.intervals[j][1] <= minute:
                j += 1
            flags.append(j < len(self.intervals) and self.intervals[j][0] <= minute)
        return flags


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# Boundary minutes near the jumps (01:00-03:00 local) and the day's edges, or any minute.
boundary_minutes = st.one_of(st.sampled_from([0, 60, 90, 100, 120, 130, 150, 165, 180, 1440]), st.integers(0, 1440))


@st.composite
def calendar_cases(draw: Any, max_span_days: int = 8) -> tuple[dict[str, Any], Calendar, int, int]:
    """(reference spec, parsed calendar, start, end): whole-minute instants near a DST change."""
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        center = datetime.fromisoformat(draw(st.sampled_from(TRANSITION_DAYS[zone])))
    else:
        center = draw(st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1))).replace(hour=0, minute=0, second=0, microsecond=0)
    # Whole days drawn uniformly (hypothesis favours small integers), then minutes.
    start = int(center.replace(tzinfo=timezone.utc).timestamp()) + (
        draw(st.sampled_from(range(-4, 4))) * 1440 + draw(st.integers(0, 1439))) * M
    end = start + (draw(st.sampled_from(range(max_span_days + 1))) * 1440 + draw(st.integers(0, 1439))) * M
    if draw(st.sampled_from(range(10))) == 0:
        return {"kind": "24x7"}, parse_calendar("c", "24x7", "calendars.c"), start, end
    weekly = []
    for _ in range(7):
        points = sorted(draw(st.lists(boundary_minutes, max_size=4, unique=True)))
        weekly.append(tuple(zip(points[0::2], points[1::2])))
    if not any(weekly):
        weekly[draw(st.integers(0, 6))] = ((draw(st.integers(0, 1439)), 1440),)
    local_center = center.date()
    holidays = frozenset(local_center + timedelta(days=d) for d in draw(st.lists(st.integers(-6, 6 + max_span_days), max_size=4)))
    data = {
        "timezone": zone,
        "hours": {WEEKDAY_NAMES[d]: [f"{clock(s)}-{clock(e)}" for s, e in intervals] for d, intervals in enumerate(weekly)},
        "holidays": [h.isoformat() for h in sorted(holidays)],
    }
    spec = {"kind": "weekly", "zone": zone, "weekly": tuple(weekly), "holidays": holidays}
    return spec, parse_calendar("c", data, "calendars.c"), start, end


@settings(max_examples=300, deadline=None)
@given(case=calendar_cases(), fraction=st.integers(0, 1000))
def test_calendar_arithmetic_equals_the_minute_stepping_reference(case: Any, fraction: int) -> None:
    spec, cal, start, end = case
    flags = Reference(spec, start, end).open_minutes(start, end)
    # business_seconds: the open minutes of [start, end), times 60.
    assert business_seconds(cal, start, end) == sum(flags) * M
    # deadline: the first minute boundary by which `amount` open seconds have passed.
    amount = sum(flags) * fraction // 1000 * M
    expected, seen = start, 0
    for i, is_open in enumerate(flags):
        if seen >= amount:
            break
        seen += M if is_open else 0
        expected = start + (i + 1) * M
    assert deadline(cal, start, amount) == expected
    assert business_seconds(cal, start, deadline(cal, start, amount)) == amount
    # next_open: the first open minute at or after start.
    first_open = next((start + i * M for i, is_open in enumerate(flags) if is_open), None)
    if first_open is not None:
        assert next_open(cal, start) == first_open


@settings(max_examples=25, deadline=None)
@given(case=calendar_cases(max_span_days=75), cut=st.integers(0, 10**6))
def test_long_spans_equal_the_reference(case: Any, cut: int) -> None:
    # Tickets stay open for weeks: spans of many cached weeks, split anywhere.
    spec, cal, start, end = case
    flags = Reference(spec, start, end).open_minutes(start, end)
    middle = start + (cut % (len(flags) + 1)) * M
    assert business_seconds(cal, start, end) == sum(flags) * M
    assert business_seconds(cal, start, middle) + business_seconds(cal, middle, end) == sum(flags) * M
    assert deadline(cal, start, sum(flags) * M) <= end
    if sum(flags):
        assert business_seconds(cal, start, deadline(cal, start, sum(flags) * M)) == sum(flags) * M


def test_the_transition_days_are_dst_changes() -> None:
    # The property tests' dates must be real changes, or they would test ordinary days.
    for zone_key, days in TRANSITION_DAYS.items():
        zone = ZoneInfo(zone_key)
        for day in days:
            noon_before = datetime.fromisoformat(day).replace(hour=12, tzinfo=zone) - timedelta(days=1)
            noon_after = noon_before + timedelta(days=2)
            changes = noon_before.utcoffset() != noon_after.utcoffset()
            assert changes == (zone_key != "Asia/Kolkata"), (zone_key, day)
