"""The worker's /wall page in a real browser: headless Chromium loads it from a live worker fed
through the test broker; the numbers it shows equal the worker's /metrics, coloured by the
spec's thresholds, with the data age on every tile; it turns red when the worker goes away and
comes back by itself after a restart; a worker that does not export says so. Screenshots are
kept as test artefacts (var/test-artefacts/, printed)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streams import conventions as c
from streams.codegen.model import load_model
from streams.codegen.writer import REPO_ROOT
from tests.streams.codegen.live_stack import old_tickets, ticket_events
from tests.streams.worker_harness import Scrape, Topics, Worker, produce

pytestmark = pytest.mark.integration

ARTEFACTS = REPO_ROOT / "var" / "test-artefacts"
WIDTH, HEIGHT = 1920, 1080
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]
READ_TILES = """JSON.stringify(document.getElementById("status") === null ? {status: null, tiles: []} : {
  status: document.getElementById("status").textContent,
  tiles: [...document.querySelectorAll(".tile")].map((el) => {
    const v = el.querySelector(".value");
    return {key: el.dataset.key, state: el.dataset.state || null, colour: el.dataset.colour || null,
            value: el.dataset.value === undefined ? null : el.dataset.value, text: v.textContent,
            title: el.querySelector(".title").textContent, age: el.querySelector(".age").textContent,
            fits: v.scrollWidth <= v.clientWidth, font_px: parseFloat(getComputedStyle(v).fontSize)};
  })})"""


class Browser:
    """Headless Chromium driven over the DevTools protocol (its websocket, through aiohttp on a
    loop of its own), so the test can read the live page while it changes the worker."""

    def __init__(self, workdir: Path, url: str) -> None:
        exe = shutil.which("chromium") or "/usr/bin/chromium"
        if not Path(exe).is_file():
            pytest.fail("the wall page test needs a browser: install Debian's Chromium (apt-get install -y chromium)", pytrace=False)
        self.profile = workdir / "chromium-profile"
        self.profile.mkdir()
        self._log = open(workdir / "chromium.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0", url],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._next_id = 0
        try:
            self._run(self._connect(), 60)
            self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.close()
            raise

    def _run(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self) -> None:
        active = self.profile / "DevToolsActivePort"  # Chromium writes its port here once it listens
        deadline = time.monotonic() + 50
        while not (active.is_file() and active.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Chromium did not start:\n{(self.profile.parent / 'chromium.log').read_text(errors='replace')[-3000:]}")
            await asyncio.sleep(0.2)
        port = active.read_text().split()[0]
        self.session = aiohttp.ClientSession()
        while True:
            async with self.session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                pages = [t for t in await resp.json() if t["type"] == "page"]
            if pages:
                break
            await asyncio.sleep(0.2)
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        await self.ws.send_json({"id": self._next_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self._run(self._call(method, params), 60)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def page(self) -> dict[str, Any]:
        return json.loads(self.evaluate(READ_TILES))

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        kept = ARTEFACTS / path.name
        shutil.copyfile(path, kept)
        print(f"wall page screenshot: {kept} (also {path})")
        return kept

    def wait_page(self, predicate: Callable[[dict[str, Any]], bool], timeout_seconds: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_seconds
        while True:
            page = self.page()
            if page["tiles"] and predicate(page):  # not before the page has loaded
                return page
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what}; the page shows:\n{json.dumps(page, indent=1)}")
            time.sleep(0.5)

    def close(self) -> None:
        async def shut() -> None:
            if getattr(self, "ws", None) is not None:
                await self.ws.close()
            if getattr(self, "session", None) is not None:
                await self.session.close()

        try:
            self._run(shut(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self._log.close()


# -- what the page must show, worked out from a /metrics scrape by hand --------------------------
SPEC = load_model()
NPS = SPEC.kpi("nps")
STALE = SPEC.pipeline.stale_max_age.seconds


def _kpi_colour(name: str, v: float) -> str:
    """The spec's target as Grafana's steps read it: red past the limit, amber in the warn band."""
    k = SPEC.kpi(name)
    assert k is not None and k.warn is not None
    if k.direction == "min":
        return "red" if v < k.limit else "amber" if v < k.warn else "green"
    return "red" if v >= k.limit else "amber" if v >= k.warn else "green"


def _overall(scrape: Scrape, metric: str, window: str) -> float | None:
    return scrape.get(metric, window=window)  # overall series carry the window label only


# tile key -> (its value from a scrape, its colour for a value)
EXPECTED: dict[str, tuple[Callable[[Scrape], float | None], Callable[[float], str]]] = {
    "breached": (lambda s: s.total(c.SLA_BREACHED), lambda v: "red" if v >= 1 else "green"),
    "at_risk": (lambda s: s.total(c.SLA_AT_RISK, within=SPEC.sla.at_risk_horizon), lambda v: "amber" if v >= 1 else "green"),
    "open_tickets": (lambda s: s.total(c.SLA_OPEN), lambda v: "blue"),
    "tickets_created": (lambda s: _overall(s, "cxkpi_tickets_created", "24h"), lambda v: "blue"),
    "nps_responses": (lambda s: _overall(s, "cxkpi_nps_responses", "24h"), lambda v: "red" if v < NPS.min_samples else "green"),
    # The worker's own breach ratio over the day: attainment is its complement.
    "sla_attainment": (
        lambda s: None if _overall(s, "cxkpi_sla_breach_ratio", "24h") is None else 1 - _overall(s, "cxkpi_sla_breach_ratio", "24h"),
        lambda v: "red" if v < SPEC.sla.slo.objective else "green",
    ),
    **{
        f"kpi:{name}": ((lambda s, m=metric, w=window: _overall(s, m, w)), (lambda v, n=name: _kpi_colour(n, v)))
        for name, metric, window in (
            ("nps", "cxkpi_nps_score", "24h"),
            ("csat", "cxkpi_csat_ratio", "24h"),
            ("fcr_ratio", "cxkpi_fcr_ratio", "24h"),
            ("first_response_time_p90_seconds", "cxkpi_first_response_time_p90_seconds", "1h"),
            ("resolution_time_p90_seconds", "cxkpi_resolution_time_p90_seconds", "24h"),
        )
    },
}
UNITS = {"kpi:csat": "%", "kpi:fcr_ratio": "%", "sla_attainment": "%", "kpi:first_response_time_p90_seconds": "s",
         "kpi:resolution_time_p90_seconds": "s", "data_age": "s"}


def _shown_number(text: str, unit: str) -> tuple[float, float]:
    """(value, how far the display may round) of a tile's text: 85.7% -> 0.857, 1h 5m -> 3900."""
    if unit == "%":
        assert re.fullmatch(r"\d+\.\d%", text), text
        return float(text[:-1]) / 100, 0.0005
    if unit == "s":
        parts = re.findall(r"(\d+)([dhms])", text)
        assert parts and "".join(n + u for n, u in parts) == text.replace(" ", ""), text
        seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}
        return sum(int(n) * seconds[u] for n, u in parts), seconds[parts[-1][1]]
    assert re.fullmatch(r"-?[\d,]+", text), text
    return float(text.replace(",", "")), 0.5


def _scrape(port: int) -> Scrape:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return Scrape(resp.read().decode())


def _steady_page(browser: Browser, port: int) -> tuple[dict[str, Any], Scrape, float]:
    """The page read between two scrapes that agree on every tile (values move only on events
    and on the wall clock), with the time it was read."""
    for _ in range(20):
        before = _scrape(port)
        time.sleep(6)  # past the page's 5 s refresh
        page, read_at = browser.page(), time.time()
        after = _scrape(port)
        if all(get(before) == get(after) for get, _ in EXPECTED.values()):
            return page, after, read_at
    raise AssertionError("the worker's values kept moving; no steady page to compare")


def _worker_on(kafka, topics: Topics, workdir: Path, port: int | None = None, group: str | None = None) -> Worker:
    env = {"KPI_GRACE": "4d"}  # the hand-made tickets from hours ago are not late
    if port is not None:
        env["KPI_WEB__PORT"] = str(port)
    worker = Worker(kafka.bootstrap_servers, topics, workdir, env, group=group)
    if port is not None:
        worker.port = port  # the harness picked another free port before the override
    return worker


def _tiles(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["key"]: t for t in page["tiles"]}


def test_wall_page_shows_the_metrics_values_and_survives_a_worker_restart(kafka, tmp_path: Path) -> None:
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)
    worker = _worker_on(kafka, topics, tmp_path)
    port = worker.port
    browser = None
    try:
        worker.wait_ready()
        now = time.time()
        sent = produce(kafka.bootstrap_servers, topics, old_tickets(now) + ticket_events("wall", now, 60))
        worker.wait_consumed(sent)
        browser = Browser(tmp_path, f"http://127.0.0.1:{port}/wall")
        browser.wait_page(lambda p: all(t["state"] == "ok" for t in p["tiles"]), 60, "every tile to show a value")

        page, scrape, read_at = _steady_page(browser, port)
        tiles = _tiles(page)
        assert set(tiles) == {"data_age", *EXPECTED}, "the spec's wall tiles, minus Workers up (only Prometheus knows it)"
        assert page["status"].startswith("Live · newest event"), page["status"]
        for key, (get, colour) in EXPECTED.items():
            tile, expected = tiles[key], get(scrape)
            assert expected is not None, f"{key}: the test's events define every tile"
            assert tile["value"] is not None and float(tile["value"]) == expected, f"{key}: page {tile['value']} != /metrics {expected}"
            shown, rounding = _shown_number(tile["text"], UNITS.get(key, ""))
            assert abs(shown - expected) <= rounding + 1e-9, f"{key}: {tile['text']!r} does not show {expected}"
            assert tile["colour"] == colour(expected), f"{key}: {expected} is {tile['colour']}, the spec says {colour(expected)}"
        # The hand-made old tickets: breached ones (red) and one at risk within the hour (amber).
        assert tiles["breached"]["colour"] == "red" and tiles["at_risk"]["colour"] == "amber"
        age = float(tiles["data_age"]["value"])
        watermark = scrape.get(c.WATERMARK)
        assert watermark is not None and abs(age - (read_at - watermark)) < 3, (age, read_at - watermark)
        assert tiles["data_age"]["colour"] == ("green" if age < STALE / 3 else "amber")
        for tile in page["tiles"]:
            assert re.fullmatch(r"data (\d+[dhms] )+old", tile["age"]), f"{tile['key']}: no data age ({tile['age']!r})"
            # Readable across a room on a 1080p screen: big, and never cut off.
            assert tile["fits"] and tile["font_px"] >= 64, f"{tile['key']}: {tile['text']!r} at {tile['font_px']}px, fits={tile['fits']}"
        assert tiles["tickets_created"]["title"] == "Tickets created (trailing 24h)"
        browser.screenshot(tmp_path / "wall.png")

        # The worker goes away: every tile turns red with its last value, the page keeps trying.
        shown_before = {t["key"]: t["text"] for t in page["tiles"]}
        worker.stop()
        down = browser.wait_page(lambda p: all(t["state"] == "unreachable" for t in p["tiles"]), 30, "the page to notice the worker is gone")
        assert down["status"].startswith("WORKER UNREACHABLE since"), down["status"]
        for tile in down["tiles"]:
            assert tile["colour"] == "red" and tile["text"] == "NO DATA" and tile["value"] is None, tile
            assert re.fullmatch(r"data (\d+[dhms] )+old", tile["age"]), tile
        assert {t["key"] for t in down["tiles"]} == set(shown_before)
        browser.screenshot(tmp_path / "wall-unreachable.png")

        # Back on the same port: the page recovers by itself, with /metrics' values again.
        worker = _worker_on(kafka, topics, tmp_path, port=port)
        worker.wait_ready()
        browser.wait_page(lambda p: all(t["state"] == "ok" for t in p["tiles"]), 90, "the page to recover after the restart")
        page, scrape, _ = _steady_page(browser, port)
        for key, (get, _colour) in EXPECTED.items():
            assert float(_tiles(page)[key]["value"]) == get(scrape), key
    finally:
        if browser is not None:
            browser.close()
        worker.stop()


def test_a_worker_that_does_not_export_says_so(kafka, tmp_path: Path) -> None:
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)
    group = f"{topics.prefix}-group"
    first = _worker_on(kafka, topics, tmp_path, group=group)
    second = None
    browser = None
    try:
        first.wait_ready()
        second = _worker_on(kafka, topics, tmp_path, group=group)
        second.wait_ready()
        workers = {w.port: w for w in (first, second)}

        def roles() -> dict[int, float | None]:
            return {port: w.scrape().get(c.EXPORTER) for port, w in workers.items()}

        deadline = time.monotonic() + 90
        while sorted(roles().values(), key=str) != [0.0, 1.0]:  # one tickets partition: one exporter
            assert time.monotonic() < deadline, f"no settled exporter: {roles()}"
            time.sleep(0.5)
        [other] = [port for port, role in roles().items() if role == 0.0]
        browser = Browser(tmp_path, f"http://127.0.0.1:{other}/wall")
        page = browser.wait_page(lambda p: any(t["state"] == "not-exported" for t in p["tiles"]), 30, "the page to say it is not the exporter")
        assert page["status"].startswith("This worker does not serve the KPI values"), page["status"]
        for tile in page["tiles"]:
            if tile["key"] != "data_age":  # the watermark is each worker's own
                assert (tile["state"], tile["colour"], tile["text"]) == ("not-exported", "red", "NOT HERE"), tile
        browser.screenshot(tmp_path / "wall-not-exporter.png")
    finally:
        if browser is not None:
            browser.close()
        for w in (first, second):
            if w is not None:
                w.stop()


def test_wall_page_is_served_as_generated(kafka, tmp_path: Path) -> None:
    """/wall is the committed, generated file, as HTML, never cached stale by a browser."""
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)
    worker = _worker_on(kafka, topics, tmp_path)
    try:
        worker.wait_ready()
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/wall", timeout=5) as resp:
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert resp.headers["Cache-Control"] == "no-cache"
            assert resp.read() == (REPO_ROOT / "streams" / "static" / "wall.html").read_bytes()
    finally:
        worker.stop()


def test_the_page_needs_no_network_but_its_worker() -> None:
    """No CDN, no build step: no external URL in what the page loads or fetches."""
    html = (REPO_ROOT / "streams" / "static" / "wall.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert not re.search(r"""fetch\(\s*["'](https?:)?//""", html)
    assert "<script src" not in html and "<link " not in html
    assert not [m for m in re.findall(r"https?://[^\s\"'<>]+", html)], "absolute URLs in the page"
