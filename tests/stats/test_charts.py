"""The supervisors' SVG bar charts, read back as XML the way a browser and a screen reader do."""

from __future__ import annotations

import itertools
import re
from xml.etree import ElementTree

import pytest

from hotline.stats.charts import PALETTE, Series, bar_chart

NS = "{http://www.w3.org/2000/svg}"
DAYS = [f"11-{day:02d}" for day in range(1, 31)] + ["12-01"]
HOURS = [f"{hour:02d}" for hour in range(24)]


def parse(svg: str) -> ElementTree.Element:
    """The chart as a tree; fails the test unless it is well-formed SVG."""
    # Our own output, not untrusted input.
    root = ElementTree.fromstring(svg)  # noqa: S314
    assert root.tag == f"{NS}svg"
    return root


def bars(root: ElementTree.Element) -> list[ElementTree.Element]:
    """Every bar and placeholder, in drawing order."""
    return [rect for rect in root.iter(f"{NS}rect") if "bar" in rect.get("class", "").split()]


def texts(root: ElementTree.Element, cls: str) -> list[str]:
    """The visible text of every `<text>` of one class."""
    return [
        "".join(el.itertext()) if el.find(f"{NS}title") is None else el.text or ""
        for el in root.iter(f"{NS}text")
        if el.get("class") == cls
    ]


def desc(root: ElementTree.Element) -> str:
    """What a screen reader reads out after the title."""
    element = root.find(f"{NS}desc")
    assert element is not None
    return element.text or ""


def test_simple_chart_has_one_bar_per_value_with_its_number() -> None:
    """A supervisor sees one bar per day, each carrying its exact number."""
    root = parse(bar_chart("Calls", ["11-01", "11-02", "11-03"], [Series("calls", (12, 0, 7.5))]))
    assert [b.get("data-value") for b in bars(root)] == ["12", "0", "7.5"]
    assert {b.get("class") for b in bars(root)} == {"bar s0"}
    assert texts(root, "value") == ["12", "0", "7.5"]
    assert texts(root, "category") == ["11-01", "11-02", "11-03"]
    assert texts(root, "legend") == []  # one series needs no legend


def test_chart_is_an_accessible_scalable_image() -> None:
    """A screen reader announces the chart by its title and data; the page sizes it to fit."""
    root = parse(bar_chart("Calls per day", ["11-01"], [Series("answered", (3,))]))
    assert root.get("role") == "img"
    assert root.get("class") == "chart"
    assert root.get("width") == "100%"
    assert (root.get("viewBox") or "").startswith("0 0 720 ")
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    title = root.find(f"{NS}title")
    description = root.find(f"{NS}desc")
    assert title is not None and description is not None
    assert (title.get("id"), title.text) == (title_id, "Calls per day")
    assert description.get("id") == desc_id


def test_chart_draws_under_the_pages_content_security_policy() -> None:
    """The chart looks right on a page whose CSP forbids inline styles and scripts."""
    svg = bar_chart("Calls", ["a", "b"], [Series("x", (1, None)), Series("y", (2, 3))])
    root = parse(svg)
    assert all(el.get("style") is None for el in root.iter())
    assert root.find(f".//{NS}style") is None and root.find(f".//{NS}script") is None
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_text_is_at_least_12_px() -> None:
    """Tired eyes get no text smaller than 12 px at the chart's natural width."""
    series = [Series("answered", tuple(range(5, 36))), Series("abandoned", (None,) * 31)]
    for svg in (
        bar_chart("Calls", DAYS, series, stacked=True),
        bar_chart("Calls", DAYS, series, horizontal=True),
    ):
        sizes = [float(el.get("font-size", "0")) for el in parse(svg).iter(f"{NS}text")]
        assert sizes and min(sizes) >= 12


def test_grouped_series_use_okabe_ito_colours_and_a_legend() -> None:
    """Two series side by side are told apart by colour-blind-safe colours and a legend."""
    root = parse(
        bar_chart(
            "Calls", ["11-01", "11-02"], [Series("answered", (12, 9)), Series("abandoned", (3, 4))]
        )
    )
    assert [(b.get("class"), b.get("data-value")) for b in bars(root)] == [
        ("bar s0", "12"),
        ("bar s1", "3"),
        ("bar s0", "9"),
        ("bar s1", "4"),
    ]
    assert [b.get("fill") for b in bars(root)[:2]] == list(PALETTE[:2])
    assert set(PALETTE) >= {b.get("fill") for b in bars(root)}
    assert texts(root, "legend") == ["answered", "abandoned"]


def test_stacked_chart_has_a_segment_per_series_and_a_total() -> None:
    """Answered and abandoned stack into one bar per day whose total is printed on top."""
    root = parse(
        bar_chart(
            "Calls",
            ["11-01", "11-02"],
            [Series("answered", (12, 20)), Series("abandoned", (3, 5))],
            stacked=True,
        )
    )
    assert [(b.get("class"), b.get("data-value")) for b in bars(root)] == [
        ("bar s0", "12"),
        ("bar s1", "3"),
        ("bar s0", "20"),
        ("bar s1", "5"),
    ]
    assert texts(root, "total") == ["15", "25"]
    # The two segments of a day share one column and touch.
    first, second = bars(root)[:2]
    assert first.get("x") == second.get("x")
    assert float(second.get("y", "")) + float(second.get("height", "")) == pytest.approx(
        float(first.get("y", "")), abs=0.1
    )


def test_horizontal_chart_has_a_row_per_category_and_grows_with_them() -> None:
    """Long district names sit beside their bars, and more districts make a taller chart."""
    names = ["Huangpu District", "Pudong New Area", "Jing'an District"]
    root = parse(bar_chart("Contacts", names, [Series("contacts", (40, 85, 12))], horizontal=True))
    assert [b.get("data-value") for b in bars(root)] == ["40", "85", "12"]
    assert texts(root, "category") == names
    assert texts(root, "value") == ["40", "85", "12"]
    ys = [float(b.get("y", "")) for b in bars(root)]
    assert ys == sorted(ys)  # top to bottom in the given order

    def height(count: int) -> float:
        svg = bar_chart(
            "C", [f"d{i}" for i in range(count)], [Series("s", (1,) * count)], horizontal=True
        )
        return float((parse(svg).get("viewBox") or "").split()[3])

    assert height(3) < height(12) < height(24)


def test_horizontal_stacked_chart() -> None:
    """Risk levels stack phone, chat and SMS in one row each, with the row's total."""
    root = parse(
        bar_chart(
            "By risk level",
            ["low", "high"],
            [Series("phone", (120, 12)), Series("chat", (80, 9)), Series("sms", (20, 6))],
            horizontal=True,
            stacked=True,
        )
    )
    assert [b.get("data-value") for b in bars(root)] == ["120", "80", "20", "12", "9", "6"]
    assert texts(root, "total") == ["220", "27"]
    assert texts(root, "legend") == ["phone", "chat", "sms"]


@pytest.mark.parametrize("horizontal", [False, True])
def test_suppressed_value_is_a_labelled_placeholder_not_zero(horizontal: bool) -> None:
    """A cell with too few people shows "<5" on a hatched stub, never a zero or a guess."""
    root = parse(
        bar_chart(
            "Calls",
            ["11-01", "11-02"],
            [Series("calls", (12, None))],
            horizontal=horizontal,
        )
    )
    shown, hidden = bars(root)
    assert shown.get("data-value") == "12"
    assert hidden.get("data-value") == "suppressed"
    assert "bar" in (hidden.get("class") or "").split()
    assert float(hidden.get("width", "0")) > 0 and float(hidden.get("height", "0")) > 0
    pattern_id = re.fullmatch(r"url\(#(.+)\)", hidden.get("fill") or "")
    assert pattern_id is not None
    assert root.find(f"{NS}defs/{NS}pattern[@id='{pattern_id.group(1)}']") is not None
    assert texts(root, "suppressed") == ["<5"]
    assert texts(root, "value") == ["12"]
    assert not any(b.get("data-value") == "0" for b in bars(root))


def test_suppressed_part_of_a_stack_makes_the_total_suppressed() -> None:
    """When one part of a day is hidden, the day's total is not printed as if it were known."""
    root = parse(
        bar_chart(
            "Calls",
            ["11-01", "11-02"],
            [Series("answered", (12, 20)), Series("abandoned", (None, 5))],
            stacked=True,
            suppressed_label="fewer than 5",
        )
    )
    assert [(b.get("class"), b.get("data-value")) for b in bars(root)] == [
        ("bar s0", "12"),
        ("bar s1 suppressed", "suppressed"),
        ("bar s0", "20"),
        ("bar s1", "5"),
    ]
    assert texts(root, "total") == ["25"]
    assert texts(root, "suppressed") == ["fewer than 5"]
    # The placeholder sits on top of the known part, so the known part still reads true.
    known, placeholder = bars(root)[:2]
    assert float(placeholder.get("y", "")) < float(known.get("y", ""))


@pytest.mark.parametrize(
    ("values", "unit", "max_value", "ticks"),
    [
        ((7,), "", None, ["0", "2", "4", "6", "8"]),
        ((93,), "", None, ["0", "20", "40", "60", "80", "100"]),
        ((0.4, 0.1), "%", None, ["0%", "0.1%", "0.2%", "0.3%", "0.4%"]),
        ((12.5, 40), "%", 100, ["0%", "20%", "40%", "60%", "80%", "100%"]),
        ((5,), " min", None, ["0 min", "1 min", "2 min", "3 min", "4 min", "5 min"]),
        ((1234,), "", None, ["0", "500", "1000", "1500"]),
        ((0.07,), " s", None, ["0 s", "0.02 s", "0.04 s", "0.06 s", "0.08 s"]),
        ((0, 0), "", None, ["0", "1"]),  # counts are whole: no 0.2 of a call
    ],
)
def test_axis_ticks_are_round_numbers(
    values: tuple[float, ...], unit: str, max_value: float | None, ticks: list[str]
) -> None:
    """Gridlines fall on 1, 2 or 5 x 10^k, labelled with the unit, so a glance gives the scale."""
    categories = [str(i) for i in range(len(values))]
    for horizontal in (False, True):
        svg = bar_chart(
            "T",
            categories,
            [Series("s", values)],
            unit=unit,
            max_value=max_value,
            horizontal=horizontal,
        )
        assert texts(parse(svg), "tick") == ticks


def test_values_print_rounded() -> None:
    """Whole numbers print whole, others to one decimal rounded half up, tiny ones readably."""
    values = (12.0, 12.345, 0.25, 99.96, 0.04)
    root = parse(bar_chart("Wait", list("abcde"), [Series("wait", values)], unit=" s"))
    assert texts(root, "value") == ["12 s", "12.3 s", "0.3 s", "100.0 s", "0.04 s"]
    assert [b.get("data-value") for b in bars(root)] == ["12", "12.345", "0.25", "99.96", "0.04"]


def test_many_categories_label_every_nth() -> None:
    """A month of days gets evenly spaced, non-overlapping date labels, starting at the 1st."""
    root = parse(bar_chart("Calls", DAYS, [Series("calls", tuple(range(31)))]))
    labels = texts(root, "category")
    assert 4 <= len(labels) < 31
    every = DAYS.index(labels[1])
    assert labels == DAYS[::every]
    xs = [float(el.get("x", "")) for el in root.iter(f"{NS}text") if el.get("class") == "category"]
    # "11-01" is about 39 px wide at 13 px.
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 39
    assert len(bars(root)) == 31


def test_too_narrow_bars_keep_their_values_in_words() -> None:
    """Two series over a month leave no room for labels; the numbers are still read out."""
    answered, abandoned = tuple(range(31)), tuple(range(100, 131))
    root = parse(
        bar_chart("Calls", DAYS, [Series("answered", answered), Series("abandoned", abandoned)])
    )
    assert texts(root, "value") == []  # overlapping labels would be unreadable
    assert len(bars(root)) == 62
    assert f"{DAYS[-1]}: answered 30, abandoned 130." in desc(root)


def test_24_hours_fit_without_thinning() -> None:
    """Every hour of the day is labelled: two-digit hours fit side by side."""
    root = parse(bar_chart("By hour", HOURS, [Series("calls", tuple(range(24)))]))
    assert texts(root, "category") == HOURS


def test_value_labels_can_be_turned_off_but_not_the_suppressed_label() -> None:
    """Without value labels the chart is quieter, yet a hidden cell still says why it is short."""
    root = parse(bar_chart("Calls", ["a", "b"], [Series("calls", (12, None))], value_labels=False))
    assert texts(root, "value") == []
    assert texts(root, "suppressed") == ["<5"]


@pytest.mark.parametrize("horizontal", [False, True])
def test_text_is_escaped(horizontal: bool) -> None:
    """A category, series or title like `<script>` or `A & B` shows as text and runs nothing."""
    nasty = "<script>alert(1)</script> & co"
    svg = bar_chart(
        nasty,
        [nasty, "b"],
        [Series(nasty, (1, None)), Series("B & C", (2, 3))],
        suppressed_label="<5 & hidden",
        horizontal=horizontal,
    )
    assert "<script" not in svg
    root = parse(svg)
    assert root.find(f".//{NS}script") is None
    title = root.find(f"{NS}title")
    assert title is not None and title.text == nasty
    assert texts(root, "chart-title") == [nasty]
    assert nasty in texts(root, "category")
    assert texts(root, "legend") == [nasty, "B & C"]
    assert texts(root, "suppressed") == ["<5 & hidden"]
    assert desc(root).startswith(f"{nasty}: {nasty} 1, B & C 2; ")


@pytest.mark.parametrize(
    ("categories", "series"),
    [
        ([], [Series("calls", ())]),
        (["11-01"], []),
        ([], []),
    ],
)
def test_empty_data_says_so(categories: list[str], series: list[Series]) -> None:
    """With nothing to draw, the chart says "no data" rather than showing an empty frame."""
    root = parse(bar_chart("Calls", categories, series, empty_label="暂无数据"))
    assert bars(root) == []
    assert texts(root, "empty") == ["暂无数据"]
    assert desc(root) == "暂无数据"


def test_charts_on_one_page_do_not_share_ids() -> None:
    """Several charts on one page keep their own hatching and accessible names."""
    series = [Series("calls", (12, None))]
    ids = []
    for title in ("Calls per day", "Calls per hour"):
        root = parse(bar_chart(title, ["a", "b"], series))
        chart_ids = [el.get("id") for el in root.iter() if el.get("id")]
        assert len(chart_ids) == len(set(chart_ids))
        assert any(el.tag == f"{NS}pattern" for el in root.iter() if el.get("id"))
        ids.append(set(chart_ids))
    assert not ids[0] & ids[1]


def test_description_states_every_value() -> None:
    """Someone who cannot see the bars hears every number, and "<5" where a cell is hidden."""
    root = parse(
        bar_chart(
            "Calls",
            ["11-01", "11-02"],
            [Series("answered", (12, None)), Series("abandoned", (3, 4.25))],
            unit=" calls",
            stacked=True,
        )
    )
    assert desc(root) == (
        "11-01: answered 12 calls, abandoned 3 calls; 11-02: answered <5, abandoned 4.3 calls."
    )


def test_description_covers_thinned_categories() -> None:
    """Days whose axis label is skipped are still read out."""
    root = parse(bar_chart("Calls", DAYS, [Series("calls", tuple(range(31)))]))
    text = desc(root)
    assert all(f"{day}: calls {i}" in text for i, day in enumerate(DAYS))


@pytest.mark.parametrize(
    ("categories", "series", "message"),
    [
        (["a", "b"], [Series("calls", (1,))], "1 values for 2 categories"),
        (["a"], [Series("calls", (-1,))], ">= 0"),
        (["a"], [Series("calls", (float("nan"),))], ">= 0"),
    ],
)
def test_malformed_data_is_refused(
    categories: list[str], series: list[Series], message: str
) -> None:
    """A mistake in the figures fails loudly instead of drawing a wrong chart."""
    with pytest.raises(ValueError, match=re.escape(message)):
        bar_chart("Calls", categories, series)
