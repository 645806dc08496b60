"""Business-hours calendars: the open time between two instants, and deadlines in open time.

A calendar is a weekly schedule of local wall-clock intervals in an IANA time zone, minus
whole local holidays; or `24x7`, which is plain elapsed time. Its spec shape (issue 16):

    calendars:
      istanbul-office:
        timezone: Europe/Istanbul
        hours: {mon-fri: ["09:00-18:00"], sat: ["10:00-14:00"]}
        holidays: [2026-10-29, 2026-04-23]
      round-the-clock: 24x7

A local boundary becomes an instant by one rule: wall-clock time W on day D is the earliest
instant at which the zone's clock reads W or later. So a time skipped by a spring-forward
jump means the instant the gap ends, a time repeated by a fall-back means its first
occurrence, and 24:00 is the next day's 00:00. An interval keeps its wall-clock meaning
(09:00-18:00 is 9 h) unless a jump falls inside it; its instants form [start, end).

Speed: the open intervals of each block of seven local days are computed once, as Unix
instants with running totals, and kept in a bounded per-calendar cache; a call then costs
one bisection per end plus one addition per whole week between them.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from kpi.durations import DAY_SECONDS
from kpi.errors import ConfigError
from kpi.timestamps import MAX_SECONDS, MIN_SECONDS

ALWAYS_OPEN: Final = "24x7"
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
_BLOCK_DAYS: Final = 7
_BLOCK_SECONDS: Final = _BLOCK_DAYS * DAY_SECONDS
_EPOCH_ORDINAL: Final = 719_163  # date(1970, 1, 1).toordinal()
# Blocks (weeks) kept per calendar: about five years of recent weeks, under a megabyte.
MAX_CACHED_BLOCKS: Final = 256
# The instants `datetime` can hold, as the event contract accepts them.
_FIRST_TS: Final = MIN_SECONDS
_LAST_TS: Final = MAX_SECONDS

Interval = tuple[int, int]  # local [start, end) in seconds since the day's 00:00; end <= 86400


class _Block:
    """The open intervals of seven local days as instants, with the open time before each."""

    def __init__(self, index: int, start: float, end: float, starts: list[float], ends: list[float]) -> None:
        self.index = index
        self.start = start  # the first day's 00:00, as an instant
        self.end = end  # the day after the last's 00:00
        self.starts = starts
        self.ends = ends
        self.before: list[float] = []  # open seconds of the block before interval i
        self.after: list[float] = []  # ... up to the end of interval i
        total = 0.0
        for a, b in zip(starts, ends):
            self.before.append(total)
            total += b - a
            self.after.append(total)
        self.total = total

    def elapsed(self, ts: float) -> float:
        """Open seconds in [self.start, ts), for ts in [self.start, self.end]."""
        i = bisect_right(self.starts, ts) - 1
        if i < 0:
            return 0.0
        end = self.ends[i]
        return self.before[i] + ((ts if ts < end else end) - self.starts[i])

    def instant(self, elapsed: float) -> float:
        """The earliest instant with `elapsed` open seconds since self.start; 0 < elapsed <= total."""
        i = bisect_left(self.after, elapsed)
        return self.starts[i] + (elapsed - self.before[i])


class Calendar:
    """A validated business-hours calendar; build it with `parse_calendar` or `always_open`.

    `zone` None makes the 24x7 calendar. Otherwise `weekly` holds, for mon..sun, the day's
    open intervals as (start, end) seconds since local 00:00, sorted and not overlapping,
    0 <= start < end <= 86400; `holidays` are local dates with no open time. Raises
    ConfigError if the intervals break those rules or the calendar is never open.
    Attributes: name, timezone (IANA key, or "24x7"), weekly, holidays, is_24x7.
    """

    def __init__(
        self, name: str, zone: ZoneInfo | None, weekly: Sequence[Sequence[Interval]], holidays: Iterable[date],
    ) -> None:
        self.name = name
        self.is_24x7 = zone is None
        self.timezone = ALWAYS_OPEN if zone is None else zone.key
        self.weekly: tuple[tuple[Interval, ...], ...] = tuple(tuple(day) for day in weekly)
        self.holidays = frozenset(holidays)
        self._zone = zone
        self._blocks: dict[int, _Block] = {}
        self._shift = 0.0
        if zone is None:
            if any(self.weekly) or self.holidays:
                raise ConfigError(f"calendar {name!r}: 24x7 has no weekly hours or holidays")
            return
        if len(self.weekly) != 7 or not any(self.weekly):
            raise ConfigError(f"calendar {name!r}: needs open intervals for 7 weekdays, some of them open")
        for day, intervals in zip(WEEKDAYS, self.weekly):
            last_end = 0
            for start, end in intervals:
                if not last_end <= start < end <= DAY_SECONDS:
                    raise ConfigError(f"calendar {name!r}: {day} intervals must be sorted, disjoint and within the day")
                last_end = end
        # Any offset finds the right block within a step (see _block_at); a typical one saves it.
        self._shift = _EPOCH_ORDINAL * DAY_SECONDS + _utc_offset_seconds(zone)

    def __repr__(self) -> str:
        return f"Calendar({self.name!r}, {self.timezone!r})"

    def _block(self, index: int) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            block = self._build(index)
        return block

    def _block_at(self, ts: float) -> _Block:
        """The block whose days hold instant `ts` (start <= ts < end)."""
        block = self._block(int((ts + self._shift) // _BLOCK_SECONDS))
        while ts < block.start:
            block = self._block(block.index - 1)
        while ts >= block.end:
            block = self._block(block.index + 1)
        return block

    def _build(self, index: int) -> _Block:
        zone = self._zone
        assert zone is not None
        first = index * _BLOCK_DAYS
        starts: list[float] = []
        ends: list[float] = []
        for ordinal in range(first, first + _BLOCK_DAYS):
            day = date.fromordinal(ordinal)
            if day in self.holidays:
                continue
            for start, end in self.weekly[day.weekday()]:
                a = _instant(zone, ordinal, start)
                b = _instant(zone, ordinal, end)
                if b <= a:  # wholly inside a spring-forward gap
                    continue
                if ends and ends[-1] == a:  # e.g. 22:00-24:00 then 00:00-06:00
                    ends[-1] = b
                else:
                    starts.append(a)
                    ends.append(b)
        block = _Block(index, _instant(zone, first, 0), _instant(zone, first + _BLOCK_DAYS, 0), starts, ends)
        if len(self._blocks) >= MAX_CACHED_BLOCKS:
            del self._blocks[next(iter(self._blocks))]  # the oldest built
        self._blocks[index] = block
        return block


def always_open(name: str = ALWAYS_OPEN) -> Calendar:
    """The 24x7 calendar: business time is elapsed time."""
    return Calendar(name, None, (), ())


def business_seconds(calendar: Calendar, start_ts: float, end_ts: float) -> float:
    """Open seconds of `calendar` in [start_ts, end_ts) (Unix seconds); 0.0 if end_ts <= start_ts.

    Issue 16: the length of the overlap of the two instants' span with the open intervals.
    Raises ValueError for a non-finite timestamp or one outside years 1-9999.
    """
    if not (_FIRST_TS <= start_ts <= _LAST_TS and _FIRST_TS <= end_ts <= _LAST_TS):
        raise ValueError(f"timestamps out of range: {start_ts!r}, {end_ts!r}")
    if end_ts <= start_ts:
        return 0.0
    if calendar.is_24x7:
        return end_ts - start_ts
    first = calendar._block_at(start_ts)
    last = first if end_ts < first.end else calendar._block_at(end_ts)
    if last is first:
        return first.elapsed(end_ts) - first.elapsed(start_ts)
    total = first.total - first.elapsed(start_ts)
    for index in range(first.index + 1, last.index):
        total += calendar._block(index).total
    return total + last.elapsed(end_ts)


def deadline(calendar: Calendar, start_ts: float, business_seconds: float) -> float:
    """The earliest instant by which `business_seconds` of open time have elapsed since `start_ts`.

    So business_seconds(calendar, s, deadline(calendar, s, x)) == x (exact for whole-second
    inputs). For x > 0 the result lies inside an open interval or exactly at its end (a
    closing edge: the clock then stands at x until the next opening, see `next_open`), and a
    start in closed time counts from the next opening: Friday 17:50 plus 1 h in a Mon-Fri
    09:00-18:00 calendar is Monday 09:50. For x <= 0 it is `start_ts` itself, open or not.
    Raises ValueError for a non-finite or out-of-range argument. Cost grows with the weeks
    crossed.
    """
    if not (_FIRST_TS <= start_ts <= _LAST_TS and -_LAST_TS <= business_seconds <= _LAST_TS):
        raise ValueError(f"arguments out of range: {start_ts!r}, {business_seconds!r}")
    if business_seconds <= 0:
        return start_ts
    if calendar.is_24x7:
        return start_ts + business_seconds
    block = calendar._block_at(start_ts)
    target = block.elapsed(start_ts) + business_seconds  # open seconds since block.start
    while target > block.total:
        target -= block.total
        block = calendar._block(block.index + 1)
    return block.instant(target)


def next_open(calendar: Calendar, ts: float) -> float:
    """The earliest instant >= `ts` at which `calendar` is open (`ts` itself if it is open).

    A clock with target x breaches (goes strictly over x) right after
    next_open(calendar, deadline(calendar, start, x)): the same instant as the deadline unless
    the deadline is at a closing edge. Raises ValueError for a non-finite or out-of-range `ts`.
    """
    if not _FIRST_TS <= ts <= _LAST_TS:
        raise ValueError(f"timestamp out of range: {ts!r}")
    if calendar.is_24x7:
        return ts
    block = calendar._block_at(ts)
    while True:
        i = bisect_right(block.starts, ts) - 1
        if i >= 0 and ts < block.ends[i]:
            return ts
        if i + 1 < len(block.starts):
            return block.starts[i + 1]
        block = calendar._block(block.index + 1)
        ts = block.start


def _utc_offset_seconds(zone: ZoneInfo) -> float:
    offset = zone.utcoffset(datetime(2000, 1, 1))
    return 0.0 if offset is None else offset.total_seconds()


def _instant(zone: ZoneInfo, ordinal: int, second: int) -> float:
    """The earliest instant at which `zone`'s clock reads local day `ordinal` + `second` or later."""
    ordinal += second // DAY_SECONDS
    second %= DAY_SECONDS
    day = date.fromordinal(ordinal)
    wall = datetime(day.year, day.month, day.day, second // 3600, second // 60 % 60, second % 60)
    ts = wall.replace(tzinfo=zone).timestamp()  # fold=0: the first occurrence of a repeated time
    if datetime.fromtimestamp(ts, zone).replace(tzinfo=None) == wall:
        return ts
    # `wall` falls in a spring-forward gap. The two folds read it with the offsets before and
    # after the jump, so they bracket the jump; bisect for it (transitions are whole seconds).
    lo, hi = sorted((int(ts), int(wall.replace(tzinfo=zone, fold=1).timestamp())))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return float(hi)


# --- The spec's plain data (as YAML gives it) to calendars ------------------------------------

_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEYS = ("timezone", "hours", "holidays")


def parse_calendars(data: Any, path: str = "calendars") -> dict[str, Calendar]:
    """{name: Calendar} from the spec's `calendars:` mapping (plain dicts, lists, strings, dates).

    Raises ConfigError whose message starts with the offending item's path, e.g.
    "calendars.istanbul-office.hours.mon-fri[0]: ..." (so a loader can add its file and line).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of calendar names to calendars, got {data!r}")
    calendars = {}
    for name, spec in data.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: calendar names must be non-empty strings, got {name!r}")
        calendars[name] = parse_calendar(name, spec, f"{path}.{name}")
    return calendars


def parse_calendar(name: str, data: Any, path: str) -> Calendar:
    """One calendar: the string "24x7", or {timezone, hours, holidays?}; see `parse_calendars`.

    Errors: an unknown key or time zone, a day name other than mon..sun or a range of them
    (mon-fri; sun-thu wraps), a time that is not HH:MM within 00:00-24:00, an interval that
    does not end after it starts or ends after 24:00, intervals of a day that overlap (ones
    that touch are fine), a holiday that is not a date, and a calendar with no open hours.
    """
    if data == ALWAYS_OPEN:
        return always_open(name)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected {ALWAYS_OPEN!r} or a mapping with timezone, hours and holidays, got {data!r}")
    for key in data:
        if key not in _KEYS:
            raise ConfigError(f"{path}.{key}: unknown setting; a calendar has {', '.join(_KEYS)}")
    if "timezone" not in data:
        raise ConfigError(f"{path}: missing timezone (an IANA name such as Europe/Istanbul)")
    if "hours" not in data:
        raise ConfigError(f"{path}: missing hours (e.g. mon-fri: [\"09:00-18:00\"])")
    zone = _parse_zone(data["timezone"], f"{path}.timezone")
    weekly = _parse_hours(data["hours"], f"{path}.hours")
    holidays = _parse_holidays(data.get("holidays", []), f"{path}.holidays")
    return Calendar(name, zone, weekly, holidays)


def _parse_zone(key: Any, path: str) -> ZoneInfo:
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{path}: expected an IANA time zone name such as Europe/Istanbul, got {key!r}")
    try:
        return ZoneInfo(key)
    except (KeyError, ValueError, OSError):  # not found; not a normalized key; a directory
        raise ConfigError(f"{path}: unknown time zone {key!r} (an IANA name such as Europe/Istanbul)") from None


def _parse_hours(data: Any, path: str) -> list[list[Interval]]:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of days to intervals, e.g. mon-fri: [\"09:00-18:00\"], got {data!r}")
    by_day: list[list[tuple[int, int, str]]] = [[] for _ in WEEKDAYS]
    for key, items in data.items():
        key_path = f"{path}.{key}"
        days = _parse_days(key, key_path)
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            raise ConfigError(f"{key_path}: expected a list of intervals such as [\"09:00-18:00\"], got {items!r}")
        for i, item in enumerate(items):
            start, end = _parse_interval(item, f"{key_path}[{i}]")
            for day in days:
                by_day[day].append((start, end, f"{key_path}[{i}]"))
    weekly: list[list[Interval]] = []
    for day_name, entries in zip(WEEKDAYS, by_day):
        entries.sort()
        for (s0, e0, p0), (s1, e1, p1) in zip(entries, entries[1:]):
            if s1 < e0:
                raise ConfigError(f"{p1}: {_clock(s1)}-{_clock(e1)} overlaps {_clock(s0)}-{_clock(e0)} ({p0}) on {day_name}")
        weekly.append([(s, e) for s, e, _ in entries])
    if not any(weekly):
        raise ConfigError(f"{path}: no open hours on any day (for round-the-clock time use {ALWAYS_OPEN!r})")
    return weekly


def _parse_days(key: Any, path: str) -> list[int]:
    """mon..sun or a range of them, e.g. mon-fri; a range wraps past sun (sun-thu)."""
    names = key.strip().lower().split("-") if isinstance(key, str) else []
    if not 1 <= len(names) <= 2 or any(n not in WEEKDAYS for n in names):
        raise ConfigError(f"{path}: unknown day {key!r}; use {', '.join(WEEKDAYS)} or a range such as mon-fri")
    first, last = WEEKDAYS.index(names[0]), WEEKDAYS.index(names[-1])
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def _parse_interval(item: Any, path: str) -> Interval:
    match = _INTERVAL.fullmatch(item.strip()) if isinstance(item, str) else None
    if match is None:
        # YAML reads an unquoted 09:00 as the number 540 (base 60), hence the advice.
        raise ConfigError(f"{path}: expected a quoted interval \"HH:MM-HH:MM\" such as \"09:00-18:00\", got {item!r}")
    start = _parse_time(match[1], match[2], item, path)
    end = _parse_time(match[3], match[4], item, path)
    if end > DAY_SECONDS:
        raise ConfigError(f"{path}: {item!r} ends after 24:00; split a night shift at midnight over two days")
    if end <= start:
        raise ConfigError(f"{path}: {item!r} does not end after it starts; intervals end by 24:00 on their day")
    return start, end


def _parse_time(hours: str, minutes: str, item: str, path: str) -> int:
    if int(minutes) > 59 or int(hours) > 24:
        raise ConfigError(f"{path}: {item!r}: {hours}:{minutes} is not a time of day (00:00 to 24:00)")
    return int(hours) * 3600 + int(minutes) * 60


def _parse_holidays(data: Any, path: str) -> list[date]:
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of dates such as [2026-10-29], got {data!r}")
    days = []
    for i, item in enumerate(data):
        if isinstance(item, str) and _ISO_DATE.fullmatch(item.strip()):
            try:
                item = date.fromisoformat(item.strip())
            except ValueError:
                pass
        if type(item) is not date:  # a datetime is a date with a time: not a whole day
            raise ConfigError(f"{path}[{i}]: expected a date YYYY-MM-DD (a whole local day), got {item!r}")
        days.append(item)
    return days


def _clock(second: int) -> str:
    return f"{second // 3600:02d}:{second // 60 % 60:02d}"
