"""Each role opens its home page (issue 13), at desktop size and at phone size (390 × 844): every
chart has drawn (a canvas with something painted on it), the numbers it drew are the numbers of the
table under it, nothing overflows sideways on the phone, and the Content-Security-Policy refused
nothing (no inline script or style)."""

import re

import pytest
from playwright.sync_api import Page, expect

from ..dashboard_helpers import build_recent
from .conftest import login

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

CHARTS = {
    "owner": ["chart-my-sales"],
    "manager": [
        "chart-tiers",
        "chart-owners",
        "chart-flows",
        "chart-releases",
        "chart-missing-notes",
        "chart-visits",
        "chart-sales-months",
        "chart-sales-people",
        "chart-ageing",
        "chart-service",
        "chart-handovers",
    ],
    "finance": ["chart-ageing", "chart-sales-months", "chart-sales-departments"],
}
HEADINGS = {"owner": "工作台", "manager": "仪表盘", "finance": "财务首页"}

# What the chart drew (ECharts' own option, outflows below the axis as negatives) and what the
# table under it says, drawn columns only, as numbers.
DRAWN_JS = """box => {
    const chart = window.echarts.getInstanceByDom(box);
    return chart.getOption().series.map(s => s.data.map(v => Math.abs(Number(v))));
}"""
TABLE_JS = """id => {
    const table = document.querySelector(`table[data-chart-table="${id}"]`);
    const columns = Array.from(table.querySelectorAll("thead th[data-series]")).map(th => th.cellIndex);
    const rows = Array.from(table.tBodies[0].rows);
    return columns.map(i => rows.map(r => r.cells[i].textContent.trim()));
}"""
PAINTED_JS = """box => {
    const canvas = box.querySelector("canvas");
    if (!canvas) return 0;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
    return painted;
}"""


def number(text: str) -> float:
    cleaned = re.sub(r"[¥,\s]", "", text)
    return float(cleaned) if cleaned not in ("", "—") else 0.0


@pytest.fixture
def recent(department, owner, teammate, manager, finance):
    return build_recent(department=department, owner=owner, teammate=teammate, manager=manager, finance=finance)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("role", ["owner", "manager", "finance"])
def test_home_page_draws_its_charts_with_the_tables_numbers(request, page: Page, live_server, recent, role, viewport):
    user = request.getfixturevalue(role)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size(viewport)
    login(page, live_server, user)
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_contain_text(HEADINGS[role])
    for chart_id in CHARTS[role]:
        box = page.locator(f"#{chart_id}")
        expect(box).to_have_attribute("data-drawn", "true")
        handle = box.element_handle()
        assert page.evaluate(PAINTED_JS, handle) > 500, f"{chart_id}: nothing painted"
        drawn = page.evaluate(DRAWN_JS, handle)
        table = [[number(cell) for cell in column] for column in page.evaluate(TABLE_JS, chart_id)]
        assert drawn == table, f"{chart_id}: chart {drawn} != table {table}"
        assert any(any(v for v in series) for series in drawn), f"{chart_id}: drew only zeros"
    if viewport is PHONE:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page is {width} px wide at {viewport['width']} px"
    assert not refused, refused


def test_workbench_on_a_phone_shows_the_most_urgent_first(page: Page, live_server, recent, owner):
    page.set_viewport_size(PHONE)
    login(page, live_server, owner)
    page.goto(live_server.url + "/")
    cards = page.locator("[data-card]")
    # Customers going back to the pool come first, then the follow-ups and overdue requests due.
    expect(cards.nth(0)).to_have_attribute("data-card", "releasing")
    expect(cards.nth(1)).to_have_attribute("data-card", "follow_ups")
    expect(cards.nth(2)).to_have_attribute("data-card", "service")
    releasing = page.locator('[data-card="releasing"]')
    expect(releasing).to_contain_text("宁波即将退回机械有限公司")
    expect(releasing).to_contain_text("剩余2天")
    releasing.locator('[data-testid="write-note"]').first.click()
    expect(page.locator("h1")).to_contain_text("宁波即将退回机械有限公司")


def test_a_bar_opens_the_list_behind_it(page: Page, live_server, recent, manager):
    login(page, live_server, manager)
    page.goto(live_server.url + "/")
    # The table's cell for the claims of the last full week links to those history rows.
    table = page.locator('table[data-chart-table="chart-flows"]')
    link = table.locator('a[href*="flow=claimed"]').nth(10)
    expect(link).to_have_text("3")
    link.click()
    expect(page.locator("h1")).to_contain_text("客户池进出明细")
    expect(page.locator("tbody tr")).to_have_count(3)
