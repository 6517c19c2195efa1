"""Small SVG charts drawn on the server: readable without JavaScript, and
only presentation attributes (no inline style), so the CSP stays strict.
Their figures are written as the page's language reads them (formats.py)."""
from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

from ..formats import count, hours, percent

BAR_COLOUR = "#0d6efd"
GRID_COLOUR = "#dee2e6"


def _number(value) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def bar_chart(items: list[tuple[str, object, str]], *, title: str, width: int = 520) -> Markup:
    """Horizontal bars: (label, value, text shown at the bar's end)."""
    row, label_width, top = 24, 150, 8
    height = top + row * max(1, len(items)) + 8
    peak = max((_number(v) for _, v, _ in items), default=0) or 1.0
    span = width - label_width - 70
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for index, (label, value, text) in enumerate(items):
        y = top + index * row
        length = max(1.0, span * _number(value) / peak) if _number(value) else 0
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="16" fill="{BAR_COLOUR}" rx="2"/>')
        parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + 15}" font-size="12">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: list[tuple[str, object]], *, title: str, width: int = 520, height: int = 180,
               as_percent: bool = True) -> Markup:
    """A line over labelled points (e.g. utilisation by month)."""
    left, right, top, bottom = 40, 10, 10, 30
    values = [_number(v) for _, v in points]
    peak = max(values, default=0) or 1.0
    inner_w, inner_h = width - left - right, height - top - bottom
    step = inner_w / max(1, len(points) - 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):
        y = top + inner_h * (1 - fraction)
        label = percent(peak * fraction) if as_percent else count(round(peak * fraction))
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{label}</text>')
    coords = [(left + i * step, top + inner_h * (1 - v / peak)) for i, v in enumerate(values)]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{BAR_COLOUR}" stroke-width="2"/>')
    for (x, y), (label, value) in zip(coords, points, strict=True):
        shown = percent(_number(value)) if as_percent else hours(_number(value))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BAR_COLOUR}"><title>{escape(label)}: {shown}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" font-size="10">{escape(label[-2:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_map(labels: list[str], values: dict[tuple[int, int], object], *, title: str) -> Markup:
    """A square matrix: row i to column j, darker for more."""
    cell, margin = 36, 70
    size = margin + cell * len(labels)
    peak = max((_number(v) for v in values.values()), default=0) or 1.0
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {size + 4} {size + 4}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, label in enumerate(labels):
        parts.append(f'<text x="{margin - 4}" y="{margin + i * cell + 22}" text-anchor="end" font-size="11">{escape(label)}</text>')
        parts.append(f'<text x="{margin + i * cell + cell / 2}" y="{margin - 8}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    for (i, j), value in values.items():
        share = _number(value) / peak
        shade = int(255 - 200 * share)
        fill = f"rgb({shade},{shade + int(30 * (1 - share))},255)" if share else "#f8f9fa"
        x, y = margin + j * cell, margin + i * cell
        parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                     f'<title>{escape(labels[i])} → {escape(labels[j])}: {hours(_number(value))}</title></rect>')
        if _number(value):
            colour = "#fff" if share > 0.5 else "#000"
            parts.append(f'<text x="{x + cell / 2 - 1}" y="{y + 21}" text-anchor="middle" font-size="9" fill="{colour}">{count(round(_number(value)))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
