"""Statistical disclosure control: counts of 1 to 4 never leave the service.

A dashboard figure of "2 young carers in district X this month" can point at a household in a
small town; the municipality's own rule for published welfare statistics is to hide such cells.
So in every figure that counts people, each count from `MIN` to `MAX` becomes null with
`suppressed: true`; zero is shown (it identifies nobody). A count whose complement in its whole is
small is hidden too (`Figure.parts`: eligible 7, retained 5 would reveal 2). Every value derived
from counts of the row (`Figure.derived`: a rate per 100,000, a percentage, a median) is hidden as
soon as one of those counts is: a rate per 100,000 times the population, or a percentage times its
whole, gives the hidden count back.

Not done yet (issue #5 follow-up): secondary suppression across rows and across figures, i.e. a
total that lets a reader subtract the shown cells to recover a hidden one. Dashboard figures carry
no totals for that reason; the national report's yearly totals (projections/report.py) could be
set against the dashboard's cells of the same year, which is why both are for the municipality's
administrators and auditors only.
"""

from typing import Any

from projections.kpi import FIGURES, Figure, Row

MIN, MAX = 1, 4


def small(value: object) -> bool:
    """A count from MIN to MAX (booleans and floats are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN <= value <= MAX


def suppress_row(row: Row, figure: Figure) -> dict[str, Any]:
    """One row with its small counts, and everything derived from them, replaced by None;
    `suppressed` says whether anything was hidden and `suppressed_fields` lists what."""
    out: dict[str, Any] = dict(row)
    hidden: set[str] = set()
    dimensions = set(figure.dimensions) | {"month"}
    for key, value in row.items():
        if key not in dimensions and key not in figure.derived and small(value):
            hidden.add(key)
    for part, whole in figure.parts.items():
        if (
            isinstance(row.get(part), int)
            and isinstance(row.get(whole), int)
            and small(row[whole] - row[part])
        ):
            hidden.add(part)
    for key, sources in figure.derived.items():
        if key in row and any(source in hidden for source in sources):
            hidden.add(key)
    for key in hidden:
        out[key] = None
    for key, value in out.items():
        if isinstance(value, float):
            out[key] = round(value, 1)
    out["suppressed"] = bool(hidden)
    if hidden:
        out["suppressed_fields"] = sorted(hidden)
    return out


def disclose_figure(figure: Figure, rows: list[Row]) -> list[dict[str, Any]]:
    """A figure's rows as they may be shown: figures about people pass through `suppress_row`."""
    if figure.about_people:
        return [suppress_row(r, figure) for r in rows]
    return [{**r, "suppressed": False} for r in rows]


def disclose(raw: dict[str, list[Row]]) -> dict[str, list[dict[str, Any]]]:
    """Every figure's rows as they may be shown."""
    return {figure.key: disclose_figure(figure, raw.get(figure.key, [])) for figure in FIGURES}
