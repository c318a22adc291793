"""Bar charts for the supervisors' statistics page, drawn on the server as inline SVG.

No script, no CDN and no stylesheet: the page's Content-Security-Policy (`default-src 'self'`)
blocks inline `style` attributes, so everything is drawn with SVG presentation attributes,
which a page stylesheet may still override through the `chart`, `bar` and `s<n>` classes.
Every value is printed beside its bar and again, in words, in the `<desc>`, so nothing
depends on hovering, on colour or on sight. A suppressed cell (too few people to show) is
drawn as a hatched placeholder carrying its label, never as zero or as an invented value.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 720
# Okabe & Ito's colour-blind-safe palette, ordered so the usual pair (answered, abandoned)
# contrasts most, and the yellow, faint against white, comes late.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

_MARGIN = 16
_TITLE_FONT = 16
_FONT = 13  # category, tick and legend labels
_VALUE_FONT = 12
_TEXT = "#1a1a1a"
_MUTED = "#4d4d4d"
_GRID = "#d9d9d9"
_AXIS = "#595959"
_PLOT_HEIGHT = 220  # vertical charts; horizontal ones grow a row per category instead
_MAX_BAR = 64  # a chart of two categories should not be two walls
_PLACEHOLDER = 18  # length of a suppressed bar's placeholder
_SEGMENT = 14  # length of a suppressed part's placeholder inside a stacked bar
_MAX_CATEGORY_LABEL = 280  # horizontal charts: longer names are shortened with an ellipsis
_SUPPRESSED = "suppressed"
# Value labels past the bars' ends: level, turned upright when bars are narrow, or left out
# when even upright ones would overlap (the <desc> still states every value).
LabelMode = Literal["level", "rotated", "none"]


@dataclass(frozen=True)
class Series:
    """One named row of values, one per category; None is a suppressed cell."""

    name: str
    values: tuple[float | None, ...]


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    stacked: bool = False,
    horizontal: bool = False,
    suppressed_label: str = "<5",
    empty_label: str = "no data",
    value_labels: bool = True,
    max_value: float | None = None,
) -> str:
    """One `<svg>` element drawing `series` over `categories` as grouped or stacked bars."""
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values for {len(categories)} categories"
            )
        for value in one.values:
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"series {one.name!r}: bars show finite values >= 0, not {value}")
    if max_value is not None and not (math.isfinite(max_value) and max_value > 0):
        raise ValueError(f"max_value must be a positive number, not {max_value}")

    chart = _Chart(
        # Ids are derived from everything drawn, so charts on one page never share a pattern
        # id unless they are the same chart (and then the patterns are the same too).
        cid=_chart_id(
            title,
            categories,
            series,
            unit,
            stacked,
            horizontal,
            suppressed_label,
            empty_label,
            value_labels,
            max_value,
        ),
        title=title,
        categories=tuple(categories),
        series=tuple(series),
        unit=unit,
        stacked=stacked,
        suppressed_label=suppressed_label,
        value_labels=value_labels,
    )
    if not categories or not series:
        return chart.empty(empty_label)
    known = [v for one in series for v in one.values if v is not None]
    if stacked:
        sums = [
            sum(v for one in series if (v := one.values[i]) is not None)
            for i in range(len(categories))
        ]
        largest = max(sums)
    else:
        largest = max(known, default=0.0)
    if max_value is not None:
        # A fixed scale (100 for shares) unless the data go past it: clipping would misstate.
        largest = max(largest, max_value)
    integral = all(float(v).is_integer() for v in known) and (
        max_value is None or float(max_value).is_integer()
    )
    ticks = nice_ticks(largest, integral=integral)
    return chart.horizontal(ticks) if horizontal else chart.vertical(ticks)


def _chart_id(*arguments: object) -> str:
    """An id for one chart's elements, the same for the same arguments."""
    stable = tuple(tuple(a) if isinstance(a, list) else a for a in arguments)
    return "chart-" + hashlib.sha256(repr(stable).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Tick:
    """A gridline: its value and its label without the unit."""

    value: float
    label: str


def nice_ticks(largest: float, *, integral: bool = False) -> tuple[Tick, ...]:
    """Gridlines from 0 past `largest`: 3 to 5 steps of 1, 2 or 5 x 10^k (whole for counts)."""
    if largest <= 0:
        largest = 1.0
    exponent = math.floor(math.log10(largest / 5)) - 1
    while True:
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0**exponent
            if integral and step < 1:
                continue
            # The tolerance keeps 0.3 / 0.1 == 3.0000000000000004 from adding a fourth step.
            steps = max(1, math.ceil(largest / step - 1e-9))
            if steps <= 5:
                decimals = max(0, -exponent)
                labels = ["0"] + [f"{i * step:.{decimals}f}" for i in range(1, steps + 1)]
                return tuple(
                    Tick(value=round(i * step, decimals), label=label)
                    for i, label in enumerate(labels)
                )
        exponent += 1


def format_value(value: float) -> str:
    """A value as printed: whole numbers as such, others to one decimal (two figures if tiny)."""
    if float(value).is_integer():
        return str(int(value))
    # Half up, as people round (0.25 -> 0.3), from the shortest decimal that is the float.
    tenths = Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if tenths == 0:
        return f"{value:.2g}"
    return str(tenths)


@dataclass(frozen=True)
class _Chart:
    """What every part of one chart needs: its id, data and options."""

    cid: str
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str
    stacked: bool
    suppressed_label: str
    value_labels: bool

    # -- the two layouts ---------------------------------------------------------------

    def vertical(self, ticks: tuple[Tick, ...]) -> str:
        """Columns over categories on the x axis; category labels thinned to fit."""
        body: list[str] = []
        top_y, header = self._header()
        body += header
        tick_labels = [t.label + self.unit for t in ticks]
        left = _MARGIN + max(_width(s, _FONT) for s in tick_labels) + 8
        right = WIDTH - _MARGIN
        n = len(self.categories)
        slot = (right - left) / n
        n_series = len(self.series)
        if self.stacked:
            bar = min(slot * 0.7, _MAX_BAR)
            pitch = slot
        else:
            bar = min(slot * 0.8 / n_series, _MAX_BAR)
            pitch = bar if n_series > 1 else slot
        above = self._labels_past_ends()
        label_width = max((_width(s, _VALUE_FONT) for s in above), default=0.0)
        mode = _label_mode(label_width, pitch)
        headroom = (label_width if mode == "rotated" else _VALUE_FONT) + 6
        if self.stacked:
            headroom += _SEGMENT * self._most_suppressed_parts()
        plot_top = top_y + headroom
        bottom = plot_top + _PLOT_HEIGHT
        scale = _PLOT_HEIGHT / ticks[-1].value

        for tick, label in zip(ticks, tick_labels, strict=True):
            y = bottom - tick.value * scale
            body.append(_line(left, y, right, y, _AXIS if tick.value == 0 else _GRID))
            body.append(_text(label, left - 6, y + 4, _FONT, anchor="end", cls="tick"))

        every = _label_every(max(_width(c, _FONT) for c in self.categories) + 6, slot)
        for i, category in enumerate(self.categories):
            centre = left + (i + 0.5) * slot
            if i % every == 0:
                body.append(
                    _text(category, centre, bottom + 18, _FONT, anchor="middle", cls="category")
                )
            if self.stacked:
                body += self._vertical_stack(i, centre - bar / 2, bar, bottom, scale, mode)
                continue
            x = centre - bar * n_series / 2
            for j, one in enumerate(self.series):
                body += self._vertical_bar(j, one.values[i], x + j * bar, bar, bottom, scale, mode)
        return self._svg(bottom + 30, body)

    def horizontal(self, ticks: tuple[Tick, ...]) -> str:
        """Bars to the right of category labels, one row per category; the chart grows down."""
        body: list[str] = []
        top_y, header = self._header()
        body += header
        names = [_shorten(c, _FONT, _MAX_CATEGORY_LABEL) for c in self.categories]
        left = _MARGIN + max(_width(c, _FONT) for c in names) + 10
        tick_labels = [t.label + self.unit for t in ticks]
        beside = self._labels_past_ends()
        room = max((_width(s, _VALUE_FONT) for s in beside), default=0.0) + 8
        if self.stacked:
            room += _SEGMENT * self._most_suppressed_parts()
        room = max(room, _width(tick_labels[-1], _FONT) / 2)
        right = WIDTH - _MARGIN - room
        n_series = len(self.series)
        bar = 22.0 if self.stacked else 18.0
        row = (bar if self.stacked else bar * n_series) + 14
        plot_top = top_y + 4
        bottom = plot_top + row * len(self.categories)
        scale = (right - left) / ticks[-1].value

        for tick, label in zip(ticks, tick_labels, strict=True):
            x = left + tick.value * scale
            body.append(_line(x, plot_top, x, bottom, _AXIS if tick.value == 0 else _GRID))
            body.append(_text(label, x, bottom + 18, _FONT, anchor="middle", cls="tick"))

        for i, (category, name) in enumerate(zip(self.categories, names, strict=True)):
            y = plot_top + i * row + 7
            middle = plot_top + (i + 0.5) * row
            label = _text(name, left - 8, middle + 4.5, _FONT, anchor="end", cls="category")
            if name != category:  # shortened: the full name stays with the label
                label = label.replace("</text>", f"<title>{escape(category)}</title></text>")
            body.append(label)
            if self.stacked:
                body += self._horizontal_stack(i, y, bar, left, scale)
                continue
            for j, one in enumerate(self.series):
                body += self._horizontal_bar(j, one.values[i], y + j * bar, bar, left, scale)
        return self._svg(bottom + 30, body)

    def empty(self, empty_label: str) -> str:
        """The frame, title and the empty label, and no bars."""
        top_y, header = self._header(legend=False)
        body = [
            *header,
            _text(
                empty_label, WIDTH / 2, top_y + 40, 14, anchor="middle", cls="empty", fill=_MUTED
            ),
        ]
        return self._svg(top_y + 70, body, description=empty_label)

    # -- bars ----------------------------------------------------------------------------

    def _vertical_bar(
        self,
        j: int,
        value: float | None,
        x: float,
        bar: float,
        bottom: float,
        scale: float,
        mode: LabelMode,
    ) -> list[str]:
        centre = x + bar / 2
        if value is None:
            top = bottom - _PLACEHOLDER
            return [
                self._placeholder(j, x, top, bar, _PLACEHOLDER),
                _value_text(self.suppressed_label, centre, top, mode, cls="suppressed"),
            ]
        height = value * scale
        parts = [self._rect(j, value, x, bottom - height, bar, height)]
        if self.value_labels and mode != "none":
            parts.append(_value_text(self._label(value), centre, bottom - height, mode))
        return parts

    def _vertical_stack(
        self, i: int, x: float, bar: float, bottom: float, scale: float, mode: LabelMode
    ) -> list[str]:
        parts: list[str] = []
        y = bottom
        # Known parts first, placeholders on top, so every known part sits where the axis says.
        for j, value in self._stack_order(i):
            if value is None:
                y -= _SEGMENT
                parts.append(self._placeholder(j, x, y, bar, _SEGMENT))
                continue
            height = value * scale
            y -= height
            parts.append(self._rect(j, value, x, y, bar, height))
            label = self._label(value)
            if (
                self.value_labels
                and height >= _VALUE_FONT + 4
                and _width(label, _VALUE_FONT) <= bar - 4
            ):
                parts.append(
                    _text(
                        label,
                        x + bar / 2,
                        y + height / 2 + 4,
                        _VALUE_FONT,
                        anchor="middle",
                        cls="value",
                        fill=_ink_on(self._colour(j)),
                    )
                )
        total = self._total(i)
        if total is None:
            parts.append(_value_text(self.suppressed_label, x + bar / 2, y, mode, cls="suppressed"))
        elif self.value_labels and mode != "none":
            parts.append(_value_text(self._label(total), x + bar / 2, y, mode, cls="total"))
        return parts

    def _horizontal_bar(
        self,
        j: int,
        value: float | None,
        y: float,
        bar: float,
        left: float,
        scale: float,
    ) -> list[str]:
        if value is None:
            return [
                self._placeholder(j, left, y, _PLACEHOLDER * 1.5, bar),
                _text(
                    self.suppressed_label,
                    left + _PLACEHOLDER * 1.5 + 4,
                    y + bar / 2 + 4,
                    _VALUE_FONT,
                    cls="suppressed",
                ),
            ]
        width = value * scale
        parts = [self._rect(j, value, left, y, width, bar)]
        if self.value_labels:
            parts.append(
                _text(
                    self._label(value), left + width + 4, y + bar / 2 + 4, _VALUE_FONT, cls="value"
                )
            )
        return parts

    def _horizontal_stack(
        self, i: int, y: float, bar: float, left: float, scale: float
    ) -> list[str]:
        parts: list[str] = []
        x = left
        for j, value in self._stack_order(i):
            if value is None:
                parts.append(self._placeholder(j, x, y, _SEGMENT, bar))
                x += _SEGMENT
                continue
            width = value * scale
            parts.append(self._rect(j, value, x, y, width, bar))
            label = self._label(value)
            if self.value_labels and _width(label, _VALUE_FONT) <= width - 6:
                parts.append(
                    _text(
                        label,
                        x + width / 2,
                        y + bar / 2 + 4,
                        _VALUE_FONT,
                        anchor="middle",
                        cls="value",
                        fill=_ink_on(self._colour(j)),
                    )
                )
            x += width
        total = self._total(i)
        if total is None:
            parts.append(
                _text(self.suppressed_label, x + 4, y + bar / 2 + 4, _VALUE_FONT, cls="suppressed")
            )
        elif self.value_labels:
            parts.append(
                _text(self._label(total), x + 4, y + bar / 2 + 4, _VALUE_FONT, cls="total")
            )
        return parts

    def _rect(self, j: int, value: float, x: float, y: float, w: float, h: float) -> str:
        return _element(
            "rect",
            {
                "class": f"bar s{j}",
                "data-value": _data_value(value),
                "x": x,
                "y": y,
                "width": w,
                "height": h,
                "fill": self._colour(j),
            },
        )

    def _placeholder(self, j: int, x: float, y: float, w: float, h: float) -> str:
        return _element(
            "rect",
            {
                "class": f"bar s{j} suppressed",
                "data-value": _SUPPRESSED,
                "x": x,
                "y": y,
                "width": w,
                "height": h,
                "fill": f"url(#{self._pattern_id(j)})",
                "stroke": self._colour(j),
                "stroke-width": 1,
                "stroke-dasharray": "3 2",
            },
        )

    # -- header, legend, frame ---------------------------------------------------------

    def _header(self, legend: bool = True) -> tuple[float, list[str]]:
        """The visible title and, for several series, the legend; returns where they end."""
        parts: list[str] = []
        y = float(_MARGIN)
        if self.title:
            parts.append(
                _text(
                    self.title,
                    _MARGIN,
                    y + _TITLE_FONT,
                    _TITLE_FONT,
                    cls="chart-title",
                    weight="bold",
                )
            )
            y += _TITLE_FONT + 12
        if legend and len(self.series) > 1:
            x = float(_MARGIN)
            y += 4
            for j, one in enumerate(self.series):
                width = 18 + _width(one.name, _FONT)
                if x > _MARGIN and x + width > WIDTH - _MARGIN:
                    x, y = float(_MARGIN), y + 20
                parts.append(
                    _element(
                        "rect",
                        {
                            "class": f"swatch s{j}",
                            "x": x,
                            "y": y,
                            "width": 12,
                            "height": 12,
                            "fill": self._colour(j),
                        },
                    )
                )
                parts.append(_text(one.name, x + 18, y + 11, _FONT, cls="legend"))
                x += width + 20
            y += 20
        return y + 4, parts

    def _svg(self, height: float, body: list[str], description: str | None = None) -> str:
        defs = "".join(
            _element(
                "pattern",
                {
                    "id": self._pattern_id(j),
                    "width": 6,
                    "height": 6,
                    "patternUnits": "userSpaceOnUse",
                    "patternTransform": "rotate(45)",
                },
                children=[
                    _element("rect", {"width": 6, "height": 6, "fill": "#ffffff"}),
                    _element(
                        "line",
                        {
                            "x1": 1,
                            "y1": 0,
                            "x2": 1,
                            "y2": 6,
                            "stroke": self._colour(j),
                            "stroke-width": 2,
                        },
                    ),
                ],
            )
            for j, one in enumerate(self.series)
            if description is None and None in one.values
        )
        return _element(
            "svg",
            {
                "xmlns": SVG_NS,
                "class": "chart",
                "viewBox": f"0 0 {WIDTH} {_num(height)}",
                "width": "100%",
                "role": "img",
                "aria-labelledby": f"{self.cid}-title {self.cid}-desc",
                "font-family": "system-ui, sans-serif",
                "fill": _TEXT,
            },
            children=[
                _element("title", {"id": f"{self.cid}-title"}, text=self.title),
                _element(
                    "desc",
                    {"id": f"{self.cid}-desc"},
                    text=self._description() if description is None else description,
                ),
                _element("defs", {}, children=[defs]) if defs else "",
                *body,
            ],
        )

    def _description(self) -> str:
        """The data in words: "11-01: answered 12, abandoned <5; 11-02: ..."."""
        rows = []
        for i, category in enumerate(self.categories):
            cells = ", ".join(f"{one.name} {self._label(one.values[i])}" for one in self.series)
            rows.append(f"{category}: {cells}")
        return "; ".join(rows) + "."

    # -- small things ------------------------------------------------------------------

    def _label(self, value: float | None) -> str:
        return self.suppressed_label if value is None else format_value(value) + self.unit

    def _labels_past_ends(self) -> list[str]:
        """Labels printed past the bars' ends: values (or totals) and suppressed labels."""
        if self.stacked:
            totals = [self._total(i) for i in range(len(self.categories))]
            return [self._label(t) for t in totals if t is None or self.value_labels]
        return [
            self._label(v)
            for one in self.series
            for v in one.values
            if v is None or self.value_labels
        ]

    def _total(self, i: int) -> float | None:
        values = [one.values[i] for one in self.series]
        if any(v is None for v in values):
            return None  # the total of a suppressed part is unknown, so it is not shown
        return sum(v for v in values if v is not None)

    def _stack_order(self, i: int) -> list[tuple[int, float | None]]:
        cells = [(j, one.values[i]) for j, one in enumerate(self.series)]
        return [c for c in cells if c[1] is not None] + [c for c in cells if c[1] is None]

    def _most_suppressed_parts(self) -> int:
        return max(
            sum(one.values[i] is None for one in self.series) for i in range(len(self.categories))
        )

    def _colour(self, j: int) -> str:
        return PALETTE[j % len(PALETTE)]

    def _pattern_id(self, j: int) -> str:
        return f"{self.cid}-suppressed-s{j}"


def _label_mode(label_width: float, pitch: float) -> LabelMode:
    """How value labels fit past the bars: level, turned upright, or not at all."""
    if label_width + 2 <= pitch:
        return "level"
    # Turned labels need about a digit's height side by side (digits have no descenders).
    if pitch >= _VALUE_FONT * 0.8:
        return "rotated"
    return "none"


def _label_every(label_width: float, slot: float) -> int:
    """Label every nth category so that neighbouring labels do not overlap."""
    return max(1, math.ceil(label_width / slot))


def _value_text(label: str, x: float, bar_top: float, mode: LabelMode, cls: str = "value") -> str:
    if mode == "level":
        return _text(label, x, bar_top - 4, _VALUE_FONT, anchor="middle", cls=cls)
    y = bar_top - 4
    return _element(
        "text",
        {
            "class": cls,
            "x": x,
            "y": y,
            "font-size": _VALUE_FONT,
            "transform": f"rotate(-90 {_num(x)} {_num(y)})",
            "dy": "0.35em",
        },
        text=label,
    )


def _text(
    text: str,
    x: float,
    y: float,
    size: int,
    *,
    anchor: str = "start",
    cls: str,
    fill: str | None = None,
    weight: str | None = None,
) -> str:
    attrs: dict[str, str | float] = {"class": cls, "x": x, "y": y, "font-size": size}
    if anchor != "start":
        attrs["text-anchor"] = anchor
    if fill is not None:
        attrs["fill"] = fill
    if weight is not None:
        attrs["font-weight"] = weight
    return _element("text", attrs, text=text)


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return _element(
        "line", {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "stroke": colour, "stroke-width": 1}
    )


def _element(
    tag: str,
    attrs: Mapping[str, str | float],
    *,
    text: str | None = None,
    children: Iterable[str] = (),
) -> str:
    """One element; attribute values and text are escaped here and nowhere else."""
    rendered = "".join(
        f" {name}={quoteattr(value if isinstance(value, str) else _num(value))}"
        for name, value in attrs.items()
    )
    inner = escape(text) if text is not None else "".join(children)
    return f"<{tag}{rendered}>{inner}</{tag}>" if inner else f"<{tag}{rendered}/>"


def _num(value: float) -> str:
    """A coordinate, to a tenth of a viewBox unit."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _data_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _width(text: str, size: float) -> float:
    """The width of text in a sans-serif face, estimated: full-width (Chinese) glyphs are 1 em."""
    return sum(size * (1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6) for c in text)


def _shorten(text: str, size: float, limit: float) -> str:
    if _width(text, size) <= limit:
        return text
    while text and _width(text + "…", size) > limit:
        text = text[:-1]
    return text + "…"


def _ink_on(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (WCAG relative luminance)."""
    channels = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"
