"""An architecture drawing (lenet_core.architecture) as a Plotly figure for the pages, as SVG,
and as PNG drawn with Pillow: the same rectangles, lines and texts in each, so the downloads
look like the page. (Plotly's own image export needs kaleido, which is not installed.)"""

from __future__ import annotations

import html
import io
from functools import cache

import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from .architecture import Drawing, Line, Rect

FONTS = "DejaVu Sans, Helvetica, Arial, sans-serif"
_ANCHORS = {"start": "left", "middle": "center", "end": "right"}


def to_plotly(d: Drawing) -> go.Figure:
    """The drawing at its own size in pixels; hovering a box names its layers and parameters."""
    shapes, notes, hx, hy, ht = [], [], [], [], []
    for it in d.items:
        if isinstance(it, Rect):
            shapes.append(dict(type="rect", x0=it.x, y0=it.y, x1=it.x + it.w, y1=it.y + it.h,
                               fillcolor=it.fill, line=dict(color=it.line, width=1)))
            if it.hover:  # one hover point per box: the last (front) rectangle's centre wins
                hx.append(it.x + it.w / 2)
                hy.append(it.y + it.h / 2)
                ht.append(html.escape(it.hover))
        elif isinstance(it, Line) and it.arrow:
            notes.append(dict(x=it.x1, y=it.y1, ax=it.x0, ay=it.y0, xref="x", yref="y",
                              axref="x", ayref="y", text="", showarrow=True, arrowhead=2,
                              arrowsize=1, arrowwidth=1.2, arrowcolor=it.color))
        elif isinstance(it, Line):
            shapes.append(dict(type="line", x0=it.x0, y0=it.y0, x1=it.x1, y1=it.y1,
                               line=dict(color=it.color, width=1.2)))
        else:
            text = html.escape(it.text)
            notes.append(dict(x=it.x, y=it.y, xref="x", yref="y", showarrow=False,
                              text=f"<b>{text}</b>" if it.bold else text,
                              xanchor=_ANCHORS[it.anchor], yanchor="middle",
                              font=dict(size=it.size, color=it.color, family=FONTS)))
    fig = go.Figure(go.Scatter(x=hx, y=hy, hovertext=ht, mode="markers",
                               marker=dict(size=12, color="rgba(0,0,0,0)"),
                               hovertemplate="%{hovertext}<extra></extra>"))
    fig.update_xaxes(visible=False, range=[0, d.width], fixedrange=True)
    fig.update_yaxes(visible=False, range=[d.height, 0], fixedrange=True, scaleanchor="x")
    fig.update_layout(shapes=shapes, annotations=notes, width=round(d.width),
                      height=round(d.height), margin=dict(l=0, r=0, t=0, b=0), showlegend=False,
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)",
                      hovermode="closest", dragmode=False)
    return fig


def to_svg(d: Drawing) -> str:
    """A standalone SVG document of the drawing."""
    w, h = round(d.width), round(d.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="{FONTS}">',
           f"<title>{html.escape(d.title)}</title>",
           '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="context-stroke"/></marker></defs>',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    for it in d.items:
        if isinstance(it, Rect):
            out.append(f'<rect x="{it.x:.1f}" y="{it.y:.1f}" width="{it.w:.1f}" '
                       f'height="{it.h:.1f}" fill="{it.fill}" stroke="{it.line}"/>')
        elif isinstance(it, Line):
            head = ' marker-end="url(#head)"' if it.arrow else ""
            out.append(f'<line x1="{it.x0:.1f}" y1="{it.y0:.1f}" x2="{it.x1:.1f}" '
                       f'y2="{it.y1:.1f}" stroke="{it.color}" stroke-width="1.2"{head}/>')
        else:
            weight = ' font-weight="bold"' if it.bold else ""
            out.append(f'<text x="{it.x:.1f}" y="{it.y:.1f}" font-size="{it.size}" '
                       f'text-anchor="{it.anchor}" dominant-baseline="central" '
                       f'fill="{it.color}"{weight}>{html.escape(it.text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


@cache
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:  # Pillow looks for the file in the system's font folders
        return ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def to_png(d: Drawing, scale: int = 2) -> bytes:
    """The drawing as a PNG, `scale` pixels per drawing pixel."""
    img = Image.new("RGB", (round(d.width * scale), round(d.height * scale)), "white")
    draw = ImageDraw.Draw(img)
    for it in d.items:
        if isinstance(it, Rect):
            draw.rectangle([it.x * scale, it.y * scale, (it.x + it.w) * scale,
                            (it.y + it.h) * scale], fill=it.fill, outline=it.line, width=scale)
        elif isinstance(it, Line):
            x0, y0, x1, y1 = (v * scale for v in (it.x0, it.y0, it.x1, it.y1))
            draw.line([x0, y0, x1, y1], fill=it.color, width=max(1, round(1.2 * scale)))
            if it.arrow:
                draw.polygon(_head(x0, y0, x1, y1, 5 * scale), fill=it.color)
        else:
            anchor = {"start": "lm", "middle": "mm", "end": "rm"}[it.anchor]
            draw.text((it.x * scale, it.y * scale), it.text, fill=it.color, anchor=anchor,
                      font=_font(round(it.size * scale), it.bold))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _head(x0: float, y0: float, x1: float, y1: float, size: float) -> list[tuple[float, float]]:
    """An arrowhead's triangle at (x1, y1), pointing away from (x0, y0)."""
    dx, dy = x1 - x0, y1 - y0
    n = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    ux, uy = dx / n, dy / n
    bx, by = x1 - ux * size, y1 - uy * size
    return [(x1, y1), (bx - uy * size / 2, by + ux * size / 2), (bx + uy * size / 2, by - ux * size / 2)]
