"""The statistics dashboard (DESIGN §8): scope by role, filters, charts and the "<5" rule on screen.

The figures themselves are checked in test_stats_queries.py; here a small world of 2024 shows
that the page picks the right scope and period and never prints a hidden figure.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import Visit
from app.rules import TZ
from app.stats import charts
from app.stats.report import Table
from tests.support import factories

YEAR = 2024
# Region A: six women with one use each (shown); two men with seven uses between them and one
# holder of another gender with two uses (both rows hidden: two "<5" rows need no "x" beside).
WOMEN, MEN_USES, OTHER_USES = 6, (4, 3), 2
B_USES = 3


def add_visits(card, venue, user, count: int, month: int = 3) -> None:
    """`count` uses of a card at a venue in a month of 2024, each with one adult and a child."""
    for n in range(count):
        db.session.add(Visit(card=card, venue=venue, user_id=user.id, adults=1, children=1,
                             assistants=0, category=venue.category,
                             occurred_at=datetime(YEAR, month, 10 + n, 12, tzinfo=TZ),
                             nonce=str(uuid.uuid4()), source="camera", status="ok"))


def holder(region, gender: str, site=None):
    """A card of 2024 with the holder's gender filled in."""
    card = factories.card(region, site=site, valid_until=date(YEAR + 1, 1, 31))
    card.issued_at, card.gender = datetime(YEAR, 1, 5, 12, tzinfo=TZ), gender
    return card


def build_stats(world: factories.World) -> SimpleNamespace:
    """Uses in 2024: 15 at region A's theatre, 3 at region B's hall."""
    door = world.users["boxoffice"]
    for _ in range(WOMEN):
        add_visits(holder(world.a, "female", world.site_a), world.theatre, door, 1)
    for uses in MEN_USES:
        add_visits(holder(world.a, "male", world.site_a), world.theatre, door, uses)
    add_visits(holder(world.a, "other", world.site_a), world.theatre, door, OTHER_USES)
    add_visits(holder(world.b, "female", world.site_b), world.hall_b, world.users["boxoffice_b"],
               B_USES, month=5)
    db.session.commit()
    return SimpleNamespace(a=world.a.id, b=world.b.id, a_uses=WOMEN + sum(MEN_USES) + OTHER_USES)


@pytest.fixture
def stats(world) -> SimpleNamespace:
    """The uses of 2024 (build_stats)."""
    return build_stats(world)


class Tables(HTMLParser):
    """Each <table id=…> of a page as lists of cell texts, row by row."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.current[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables(response) -> dict[str, list[list[str]]]:
    """The page's tables by id."""
    return Tables(response.get_data(as_text=True)).tables


def total_uses(response) -> str:
    """The total of uses in the months table."""
    months = tables(response)["months-table"]
    return months[-1][months[0].index("Uses")]


def svg(html: str, chart_id: str) -> str:
    """The markup of one chart."""
    start = html.rindex("<svg", 0, html.index(f'aria-labelledby="{chart_id}-title"'))
    return html[start:html.index("</svg>", start)]


def get(client, **query):
    """The dashboard in English, so the headings can be matched."""
    return client.get("/stats", query_string=query, headers={"Accept-Language": "en"})


def test_a_coordinator_sees_its_own_region(client, auth, stats):
    auth.login("coord-a")
    response = get(client, year=YEAR)
    assert response.status_code == 200
    assert total_uses(response) == str(stats.a_uses)
    assert "Region AAA" in response.get_data(as_text=True)
    assert get(client, year=YEAR, region=stats.a).status_code == 200


def test_a_coordinator_gets_404_for_another_region(client, auth, stats):
    auth.login("coord-a")
    assert get(client, year=YEAR, region=stats.b).status_code == 404
    assert get(client, year=YEAR, region="nonsense").status_code == 404


def test_an_admin_sees_the_whole_country_or_one_region(client, auth, stats):
    auth.login("admin1")
    assert total_uses(get(client, year=YEAR)) == str(stats.a_uses + B_USES)
    assert total_uses(get(client, year=YEAR, region=stats.b)) == str(B_USES)
    assert get(client, year=YEAR, region=999999).status_code == 404


def test_a_small_cell_shows_less_than_five_and_not_its_hidden_figures(client, auth, stats):
    auth.login("coord-a")
    response = get(client, year=YEAR)
    gender = tables(response)["gender-table"]
    men = next(row for row in gender if row[0] == "Male")
    assert set(men[1:]) == {"<5"}
    women = next(row for row in gender if row[0] == "Female")
    assert women[1:3] == [str(WOMEN), str(WOMEN)]
    chart = svg(response.get_data(as_text=True), "chart-gender-uses")
    assert "Male" in chart and "&lt;5" in chart and ">7<" not in chart and ">2<" not in chart


def test_charts_are_images_with_a_name_and_a_figure_on_every_bar(client, auth, stats):
    auth.login("coord-a")
    html = get(client, year=YEAR).get_data(as_text=True)
    chart = svg(html, "chart-months-uses")
    assert 'role="img"' in chart and '<title id="chart-months-uses-title">Bar chart: Uses' in chart
    assert chart.count("<rect") == 1 and f">{stats.a_uses}</text>" in chart  # March only
    assert chart.count('class="chart-value"') == 11  # a "0" beside each empty month
    assert "style=" not in html.split("<main", 1)[1] and "<script" not in html


@pytest.mark.parametrize("query, message", [
    ({"period": "range", "start": "2024-03-01"}, "Enter a date for a date range."),
    ({"period": "range", "start": "2024-03-01", "end": "2024-02-01"},
     "The end date is before the start date."),
    ({"period": "range", "start": "2018-01-01", "end": "2024-02-01"},
     "A date range may be at most 5 years long."),
    ({"period": "range", "start": "1999-01-01", "end": "1999-02-01"}, "Choose a date from"),
    ({"period": "range", "start": "2024-02-30", "end": "2024-03-01"}, "Not a valid date value"),
    ({"year": "1800"}, "Not a valid choice"),
    ({"year": "twenty"}, "Invalid Choice"),
    ({"period": "decade"}, "Not a valid choice"),
])
def test_bad_filters_are_explained_on_the_form(client, auth, world, query, message):
    auth.login("coord-a")
    response = get(client, **query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "has-error" in html
    assert "months-table" not in html


def test_a_year_and_a_date_range_cover_their_own_days(client, auth, stats):
    auth.login("admin1")
    year = tables(get(client, year=YEAR))["months-table"]
    assert [row[0] for row in year[1:-1]] == [f"{m} {YEAR}" for m in (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December")]
    spring = get(client, period="range", start="2024-03-11", end="2024-05-10")
    months = tables(spring)["months-table"]
    assert [row[0] for row in months[1:-1]] == ["March 2024", "April 2024", "May 2024"]
    # From 11 March every card's first use (on the 10th) is left out; up to 10 May only the
    # first of region B's uses (10, 11, 12 May) is in.
    assert months[-1][months[0].index("Uses")] == str(sum(MEN_USES) - 2 + OTHER_USES - 1 + 1)
    assert "11/03/2024–10/05/2024" in spring.get_data(as_text=True)


def test_the_default_is_this_year_up_to_today(client, auth, stats, today):
    auth.login("coord-a")
    response = get(client)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<option selected value="{today.year}">' in html
    months = tables(response)["months-table"]
    assert len(months) - 2 == today.month


def test_the_dashboard_links_each_table_download_and_the_summary_in_each_language(
        client, auth, stats):
    auth.login("admin1")
    html = get(client, year=YEAR, region=stats.a).get_data(as_text=True)
    assert f"/stats/gender.csv?region={stats.a}&amp;year={YEAR}" in html
    assert f"/stats/months.xlsx?region={stats.a}&amp;year={YEAR}" in html
    assert f'href="/stats/workbook.xlsx?region={stats.a}&amp;year={YEAR}"' in html
    assert ">Download all tables (Excel)</a>" in html
    for lang in ("fi", "sv", "en"):
        assert f"/stats/summary.pdf?region={stats.a}&amp;year={YEAR}&amp;lang={lang}" in html


def test_the_summary_pdf_covers_the_dashboards_date_range(client, auth, stats):
    auth.login("coord-a")
    query = {"period": "range", "start": "2024-03-01", "end": "2024-05-31"}
    html = get(client, **query).get_data(as_text=True)
    assert "Summary 01/03/2024–31/05/2024 as PDF" in html
    assert "/stats/summary.pdf?period=range&amp;start=2024-03-01&amp;end=2024-05-31&amp;lang=fi" in html
    response = client.get("/stats/summary.pdf", query_string={**query, "lang": "en"})
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="kaikukortti-summary-en-aaa-2024-03-01_2024-05-31.pdf"'


def test_the_dashboard_is_linked_for_managers_only(client, auth, world):
    auth.login("coord-a")
    assert 'href="/stats"' in client.get("/manage/").get_data(as_text=True)
    auth.logout()
    auth.login("issuer-a")
    assert 'href="/stats"' not in client.get("/").get_data(as_text=True)


def test_the_page_is_finnish_by_default(client, auth, stats):
    auth.login("coord-a")
    html = client.get("/stats", query_string={"year": YEAR},
                      headers={"Accept-Language": "fi"}).get_data(as_text=True)
    assert '<html lang="fi">' in html and "maaliskuu 2024" in html


def test_the_annual_summary_is_a_pdf_named_after_its_scope_year_and_language(client, auth, stats):
    auth.login("coord-a")
    response = client.get("/stats/summary.pdf", query_string={"year": YEAR, "lang": "sv"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="kaikukortti-summary-sv-aaa-{YEAR}.pdf"'
    assert client.get("/stats/summary.pdf", query_string={"lang": "de"}).status_code == 404
    assert client.get("/stats/summary.pdf",
                      query_string={"region": stats.b, "lang": "fi"}).status_code == 404


def test_a_chart_writes_a_hidden_figure_as_its_mark_without_a_bar():
    table = Table("gender", "Uses by gender", ("gender", "cards", "uses"), [
        {"label": "Female", "cards": 9, "uses": 40}, {"label": "Other", "cards": "x", "uses": "x"},
        {"label": "Male", "cards": "<5", "uses": "<5"}, {"label": "<b>", "cards": 5, "uses": 0}])
    chart = str(charts.bar_chart(table, "uses", "Uses & more"))
    assert chart.count("<rect") == 1 and 'width="100%"' in chart
    assert ">x</text>" in chart and ">&lt;5</text>" in chart and ">40</text>" in chart
    assert "&lt;b&gt;" in chart and "<b>" not in chart and "Uses &amp; more" in chart
