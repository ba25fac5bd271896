"""Text placement for the analysis figures: every text a figure draws, and a greedy pass that moves each
point or line label to the first nearby spot where it stays inside its axes, meets no other text and covers
no marker, error bar or horizontal line (what tests/report/test_figures_readable.py checks)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox


def texts_of(fig: Figure) -> list[Text]:
    """Every text the figure draws: titles, axis and tick labels, annotations, legend texts (visible, not
    empty, and for a tick label, its tick inside the axis' view: matplotlib keeps ticks past the limits)."""
    undrawn = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * max(abs(low), abs(high), 1.0)
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not low - slack <= tick.get_loc() <= high + slack:
                    undrawn |= {id(tick.label1), id(tick.label2)}
    found = fig.findobj(lambda a: isinstance(a, Text) and a.get_visible() and a.get_text().strip() != "")
    return [t for t in found if id(t) not in undrawn and (t.axes is None or t.axes.get_visible())]


def text_box(text: Text, renderer):
    """The text's own box in display units (an annotation's without its arrow)."""
    return Text.get_window_extent(text, renderer)


def overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def outside(box, frame) -> float:
    """How much of ``box`` lies outside ``frame`` (area)."""
    inside = overlap(box, frame)
    return box.width * box.height - inside


def freeze_layout(fig: Figure):
    """Lay the figure out once and keep it there (later draws move nothing); returns the renderer."""
    fig.canvas.draw()
    fig.set_layout_engine("none")
    return fig.canvas.get_renderer()


def point_offsets() -> list[tuple[float, float, str]]:
    """Where a point's label may go, in points from the point, nearest first: right, left, then further up/down."""
    offsets = []
    for dy in (0, 9, -9, 18, -18, 27, -27, 36, -36, 48, -48, 60, -60, 75, -75):
        offsets += [(7, dy, "left"), (-7, dy, "right")]
    offsets += [(22, dy, "left") for dy in (0, 14, -14, 30, -30)]
    return offsets


def line_offsets() -> list[tuple[float, float, str]]:
    """Where a horizontal line's label may go: just above it, just below, then further."""
    return [(0, dy, "") for dy in (3, -11, 14, -22, 25, -33, 36, -44)]


def place_labels(
    fig: Figure,
    movable: Sequence[tuple[Annotation, list[tuple[float, float, str]]]],
    points: Sequence[tuple[object, float, float, float]] = (),
) -> None:
    """Move each annotation to the first of its offsets where its box stays inside its axes, meets no other
    text and covers no point (``points``: (axes, x, y low, y high), a marker and its error bar); else to the
    offset that does least of those, in that order. A simple greedy non-overlap pass, in order."""
    renderer = freeze_layout(fig)
    own = {id(text) for text, _ in movable}
    fixed = [text_box(t, renderer) for t in texts_of(fig) if id(t) not in own]
    half = 4.5 * fig.dpi / 72  # an error bar's cap, in pixels
    covered = []
    for ax, x, y_low, y_high in points:
        (x0, y0), (_, y1) = ax.transData.transform([(x, y_low), (x, y_high)])
        covered.append(Bbox([[x0 - half, min(y0, y1) - half], [x0 + half, max(y0, y1) + half]]))
    for ax in fig.axes:  # horizontal lines across an axes (references, papers' scores): text struck through
        frame = ax.get_window_extent(renderer)
        for line in ax.get_lines():
            x, y = list(line.get_xdata()), list(line.get_ydata())
            if x == [0, 1] and len(y) == 2 and y[0] == y[1]:
                level = ax.transData.transform([(1, y[0])])[0][1]
                covered.append(Bbox([[frame.x0, level - 1.5], [frame.x1, level + 1.5]]))
    placed: list = []
    for text, offsets in movable:
        frame = text.axes.get_window_extent(renderer)
        best, best_cost = None, None
        for dx, dy, ha in offsets:
            text.xyann = (dx, dy)
            if ha:
                text.set_ha(ha)
            box = text_box(text, renderer)
            padded = box.expanded(1.04, 1.15)
            cost = (
                round(outside(box, frame)),
                round(sum(overlap(padded, b) for b in fixed + placed)),
                round(sum(overlap(box, b) for b in covered)),
            )
            if best_cost is None or cost < best_cost:
                best, best_cost = (dx, dy, ha), cost
            if cost == (0, 0, 0):
                break
        dx, dy, ha = best
        text.xyann = (dx, dy)
        if ha:
            text.set_ha(ha)
        placed.append(text_box(text, renderer))
