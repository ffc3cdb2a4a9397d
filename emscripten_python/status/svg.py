"""Inline SVG drawn here, so the page needs no JavaScript and no third-party host."""

from __future__ import annotations

from markupsafe import Markup, escape

COLORS = {"green": "#2e7d32", "red": "#c62828", "pending": "#757575", "stable": "#2e7d32",
          "unstable": "#ef6c00", "unknown": "#757575"}
_CHAR_WIDTH = 6.5   # Verdana 11px, close enough to size a badge without a font


def badge(label: str, message: str, color: str) -> str:
    """A shields-style badge: grey label, coloured message."""
    left = int(len(label) * _CHAR_WIDTH + 12)
    right = int(len(message) * _CHAR_WIDTH + 12)
    width = left + right
    label, message = escape(label), escape(message)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
            f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
            f'<rect width="{left}" height="20" fill="#555"/>'
            f'<rect x="{left}" width="{right}" height="20" fill="{escape(COLORS.get(color, color))}"/>'
            f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
            f'<text x="6" y="14">{label}</text><text x="{left + 6}" y="14">{message}</text></g></svg>\n')


def line_chart(points: list[tuple[str, float]], *, title: str, unit: str = "", y_max: float | None = None,
               width: int = 560, height: int = 160) -> Markup:
    """Points (label, value), oldest first; each point has a tooltip with its label."""
    pad_left, pad, plot_w, plot_h = 48, 14, width - 62, height - 40
    values = [v for _, v in points]
    top = y_max if y_max is not None else (max(values) if values else 0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="{pad_left}" y="11" font-size="11">{escape(title)}</text>',
             f'<line x1="{pad_left}" y1="{pad + plot_h}" x2="{pad_left + plot_w}" y2="{pad + plot_h}" stroke="#999"/>',
             f'<text x="{pad_left - 4}" y="{pad + 8}" font-size="10" text-anchor="end">{top:.3g}{escape(unit)}</text>',
             f'<text x="{pad_left - 4}" y="{pad + plot_h}" font-size="10" text-anchor="end">0</text>']
    if points:
        step = plot_w / max(len(points) - 1, 1)
        xy = [(pad_left + i * step, pad + plot_h - min(v / top, 1.0) * plot_h) for i, v in enumerate(values)]
        parts.append('<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#1565c0"><title>{escape(label)}: '
                  f'{value:.3g}{escape(unit)}</title></circle>' for (x, y), (label, value) in zip(xy, points)]
    parts.append("</svg>")
    return Markup("".join(parts))


def dots(outcomes: list[tuple[str, str]]) -> Markup:
    """One square per run (state, tooltip), oldest first: the row of build dots."""
    cells = "".join(f'<rect x="{i * 9}" width="7" height="12" fill="{COLORS[state]}"><title>{escape(tip)}'
                    f'</title></rect>' for i, (state, tip) in enumerate(outcomes))
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="dots" width="{max(len(outcomes) * 9, 1)}" '
                  f'height="12" role="img">{cells}</svg>')
