"""Small SVG charts drawn on the server: readable without JavaScript, and
only presentation attributes (no inline style), so the CSP stays strict.
Their figures are written as the page's language reads them (formats.py).

Legible in both languages (issue #19): text at 13–14 units in a viewBox
about as wide as the chart's column, so it is read at that size on a
desktop and no smaller than about 10 px on a phone; every axis says what it
counts and in which unit; label space is measured from the labels
themselves (a Chinese character is about one em, a Latin letter about half),
so an English name is not cut off where a Chinese one fitted, and a label
too long for its space is shortened with an ellipsis and kept whole in its
tooltip."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..formats import count, hours, percent

BAR_COLOUR = "#0b5cad"   # the platform's primary colour (static/site.css --g60-primary)
GRID_COLOUR = "#d9e0e8"
AXIS_COLOUR = "#5b6673"  # 5.9:1 on white, as the site's secondary text
TEXT_COLOUR = "#212529"
LABEL_SIZE = 14          # category labels and figures
TICK_SIZE = 13           # the numbers along an axis
FONT = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"


def _number(value) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def text_width(text: str, size: float) -> float:
    """About how wide `text` is at font size `size`: a CJK (full-width)
    character one em, a capital or digit about 0.72 em, other Latin about
    0.64 em, a space or a narrow mark about 0.35 em (DejaVu Sans, the
    widest of the system fonts a Linux desktop falls back to). Generous,
    so a label measured fits."""
    width = 0.0
    for char in text:
        if ord(char) >= 0x2E80:
            width += 1.0
        elif char in " .,:;·'|!il()[]":
            width += 0.35
        elif char.isupper() or char.isdigit() or char in "%¥$—–→…":
            width += 0.72
        else:
            width += 0.64
    return width * size


def fit(text: str, size: float, room: float) -> str:
    """`text`, shortened with an ellipsis until it fits `room` units."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _svg(width: float, height: float, title: str, cls: str = "chart") -> str:
    return (f'<svg class="{cls}" role="img" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" font-family="{FONT}" fill="{TEXT_COLOUR}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>')


def _label(x: float, y: float, text: str, room: float, *, size: int = LABEL_SIZE, anchor: str = "end",
           extra: str = "") -> str:
    """A text that fits `room`: shortened if need be, whole in its tooltip."""
    shown = fit(text, size, room)
    label = (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>'
             f'{escape(shown)}</text>')
    return f"<g><title>{escape(text)}</title>{label}</g>" if shown != text else label


def bar_chart(items: list[tuple[str, object, str]], *, title: str, value_label: str, width: int = 480) -> Markup:
    """Horizontal bars: (label, value, text shown at the bar's end), over a
    value axis with its ticks and what it counts."""
    row, top = 28, 6
    as_percent = bool(items) and all(str(text).endswith("%") for _, _, text in items)
    widest_label = max((text_width(label, LABEL_SIZE) for label, _, _ in items), default=0)
    label_width = min(widest_label + 14, width * 0.4)
    widest_text = max((text_width(str(text), LABEL_SIZE) for _, _, text in items), default=0)
    span = max(60.0, width - label_width - widest_text - 12)
    peak = max((_number(v) for _, v, _ in items), default=0) or 1.0
    axis_y = top + row * max(1, len(items)) + 2
    height = axis_y + TICK_SIZE + 8 + LABEL_SIZE + 8
    parts = [_svg(width, height, title)]
    for fraction in (0, 0.5, 1):
        x = label_width + span * fraction
        tick = percent(peak * fraction) if as_percent else count(round(peak * fraction))
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="{GRID_COLOUR}"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + TICK_SIZE + 2}" text-anchor="middle" font-size="{TICK_SIZE}" '
                     f'fill="{AXIS_COLOUR}">{tick}</text>')
    for index, (label, value, text) in enumerate(items):
        y = top + index * row
        length = max(1.0, span * _number(value) / peak) if _number(value) else 0
        parts.append(_label(label_width - 6, y + 19, label, label_width - 8))
        parts.append(f'<rect x="{label_width:.1f}" y="{y + 5}" width="{length:.1f}" height="18" fill="{BAR_COLOUR}" rx="2">'
                     f'<title>{escape(label)}: {escape(text)}</title></rect>')
        parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + 19}" font-size="{LABEL_SIZE}">{escape(text)}</text>')
    parts.append(f'<line x1="{label_width:.1f}" y1="{axis_y}" x2="{label_width + span:.1f}" y2="{axis_y}" stroke="{AXIS_COLOUR}"/>')
    parts.append(f'<text class="axis-title" x="{label_width + span / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'font-size="{LABEL_SIZE}" fill="{AXIS_COLOUR}">{escape(value_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def month_label(key: str) -> tuple[str, str]:
    """("1月", "2026年") / ("Jan", "2026") for the month key "2026-01"; the
    key itself, and no year, when it is not a month."""
    try:
        day = date.fromisoformat(f"{key}-01")
    except ValueError:
        return key, ""
    locale = get_locale()
    return format_date(day, "MMM", locale=locale), format_date(day, "y", locale=locale) + (
        "年" if locale.language == "zh" else "")


def line_chart(points: list[tuple[str, object]], *, title: str, width: int = 480, height: int = 230,
               as_percent: bool = True, value_label: str | None = None, key_label: str | None = None) -> Markup:
    """A line over labelled points (utilisation by month): the value axis
    with its ticks and unit on the left, the months (and their year) below."""
    value_label = value_label or (_("Utilisation (%)") if as_percent else _("Hours (h)"))
    key_label = key_label or _("Month")
    values = [_number(v) for _, v in points]
    peak = max(values, default=0) or 1.0
    ticks = [percent(peak * f) if as_percent else count(round(peak * f)) for f in (0, 0.5, 1)]
    left = LABEL_SIZE + 10 + max(text_width(t, TICK_SIZE) for t in ticks) + 6
    right, top, bottom = 16, 10, TICK_SIZE * 2 + LABEL_SIZE + 22
    inner_w, inner_h = width - left - right, height - top - bottom
    step = inner_w / max(1, len(points) - 1)
    labels = [month_label(key) for key, _ in points]
    widest = max((text_width(month, TICK_SIZE) for month, _ in labels), default=0) + 8
    every = max(1, -(-int(widest) // max(1, int(step))))  # every n-th month labelled, so none overlap
    parts = [_svg(width, height, title)]
    for fraction, tick in zip((0, 0.5, 1), ticks, strict=True):
        y = top + inner_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>')
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="{TICK_SIZE}" '
                     f'fill="{AXIS_COLOUR}">{tick}</text>')
    axis_y = top + inner_h
    parts.append(f'<line x1="{left}" y1="{axis_y:.1f}" x2="{width - right}" y2="{axis_y:.1f}" stroke="{AXIS_COLOUR}"/>')
    coords = [(left + i * step if len(points) > 1 else left + inner_w / 2, top + inner_h * (1 - v / peak))
              for i, v in enumerate(values)]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{BAR_COLOUR}" stroke-width="2.5"/>')
    shown_year = None
    for index, ((x, y), (_key, value), (month, year)) in enumerate(zip(coords, points, labels, strict=True)):
        shown = percent(_number(value)) if as_percent else hours(_number(value))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BAR_COLOUR}"><title>{escape(month)} {escape(year)}: '
                     f'{shown}</title></circle>')
        if index % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{axis_y + TICK_SIZE + 4:.1f}" text-anchor="middle" '
                         f'font-size="{TICK_SIZE}">{escape(month)}</text>')
            if year and year != shown_year:  # the year under its first labelled month
                parts.append(f'<text x="{x:.1f}" y="{axis_y + 2 * TICK_SIZE + 6:.1f}" text-anchor="middle" '
                             f'font-size="{TICK_SIZE - 1}" fill="{AXIS_COLOUR}">{escape(year)}</text>')
                shown_year = year
    parts.append(f'<text class="axis-title" x="{left + inner_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'font-size="{LABEL_SIZE}" fill="{AXIS_COLOUR}">{escape(key_label)}</text>')
    parts.append(f'<text class="axis-title" transform="translate({LABEL_SIZE + 2} {top + inner_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle" font-size="{LABEL_SIZE}" fill="{AXIS_COLOUR}">{escape(value_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _shade(share: float) -> tuple[int, int, int]:
    """The heat map's colour for a share of the peak: from a pale blue to the primary colour."""
    pale, dark = (222, 234, 247), (11, 92, 173)
    return tuple(round(p + (d - p) * share) for p, d in zip(pale, dark, strict=True))


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def heat_map(labels: list[str], values: dict[tuple[int, int], object], *, title: str) -> Markup:
    """A square matrix: the hours firms of the city of row i booked at
    instruments of the city of column j, darker for more. The rows' axis is
    the requesting city, the columns' the providing city, and both say so."""
    rows_title, columns_title = _("Requesting city"), _("Providing city")
    cell, size = 44, 12
    widest = max((text_width(label, size) for label in labels), default=0)
    left = LABEL_SIZE + 14 + widest + 6             # the rows' title, then the row labels
    column_room = widest * 0.72 + size              # the column labels, slanted at 45°
    top = 2 * (LABEL_SIZE + 10) + column_room + 6   # the caption, the columns' title, their labels
    grid = cell * len(labels)
    width, height = left + grid + column_room, top + grid + LABEL_SIZE + 16
    peak = max((_number(v) for v in values.values()), default=0) or 1.0
    parts = [_svg(width, height, title)]
    # "Requesting city → Providing city" as the caption, then each axis its own
    # title: the columns' over them, the rows' down the left edge.
    parts.append(f'<text class="axis-title" x="0" y="{LABEL_SIZE + 2}" font-size="{LABEL_SIZE}">'
                 f'{escape(rows_title)} → {escape(columns_title)}</text>')
    parts.append(f'<text class="axis-title" x="{left + grid / 2:.1f}" y="{2 * LABEL_SIZE + 14}" text-anchor="middle" '
                 f'font-size="{LABEL_SIZE}" fill="{AXIS_COLOUR}">{escape(columns_title)} ↓</text>')
    parts.append(f'<text class="axis-title" transform="translate({LABEL_SIZE + 2} {top + grid / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle" font-size="{LABEL_SIZE}" fill="{AXIS_COLOUR}">{escape(rows_title)}</text>')
    for i, label in enumerate(labels):
        parts.append(_label(left - 6, top + i * cell + cell / 2 + 4, label, widest + 2, size=size))
        x = left + i * cell + cell / 2
        parts.append(f'<text transform="translate({x:.1f} {top - 6:.1f}) rotate(-45)" font-size="{size}">'
                     f'{escape(label)}</text>')
    for i in range(len(labels)):  # every pair has its cell, an empty one pale
        for j in range(len(labels)):
            if not _number(values.get((i, j))):
                parts.append(f'<rect x="{left + j * cell:.1f}" y="{top + i * cell:.1f}" width="{cell - 2}" '
                             f'height="{cell - 2}" fill="#f5f7fa"/>')
    for (i, j), value in values.items():
        share = _number(value) / peak
        fill = _shade(share) if share else (245, 247, 250)
        x, y = left + j * cell, top + i * cell
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell - 2}" height="{cell - 2}" fill="rgb{fill}">'
                     f'<title>{escape(labels[i])} → {escape(labels[j])}: {hours(_number(value))}</title></rect>')
        if _number(value):
            colour = "#fff" if _luminance(fill) < 0.18 else "#000"  # whichever reads better on the cell
            parts.append(f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" font-size="11" '
                         f'fill="{colour}">{count(round(_number(value)))}</text>')
    note = _("Figures in the cells: hours booked")
    parts.append(f'<text x="{left:.1f}" y="{height - 6:.1f}" font-size="{TICK_SIZE}" fill="{AXIS_COLOUR}">'
                 f'{escape(note)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
