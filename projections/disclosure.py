"""Statistical disclosure control: counts of 1 to 4 never leave the service.

A dashboard figure of "2 young carers in district X this month" can point at a household in a
small town; the municipality's own rule for published welfare statistics is to hide such cells.
So in every figure that counts people, each count from `MIN` to `MAX` becomes null with
`suppressed: true`; zero is shown (it identifies nobody). Statistics derived from few cases
(median, 90th percentile) are hidden when fewer than `MAX + 1` cases underlie them, and a count
whose complement in its row is small is hidden too (eligible 7, retained 5 would reveal 2).

Not done yet (issue #5 follow-up): secondary suppression across rows, i.e. a total that lets a
reader subtract the shown cells to recover a hidden one. Figures here carry no totals for that reason.
"""

from typing import Any

from projections.kpi import FIGURES, Row

MIN, MAX = 1, 4
DERIVED = ("median", "p90")
"""Statistics computed from the rows counted in `n`."""

COMPLEMENT = {"n": "eligible"}
"""A count and the denominator it is part of: eligible − n must not be small either."""


def _small(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and MIN <= value <= MAX


def suppress_row(row: Row, dimensions: set[str]) -> dict[str, Any]:
    """One row with its small counts replaced by None and `suppressed` listing which."""
    out: dict[str, Any] = dict(row)
    hidden: list[str] = []
    for key, value in row.items():
        if key in dimensions or key in DERIVED:
            continue
        if _small(value):
            out[key] = None
            hidden.append(key)
    for part, whole in COMPLEMENT.items():
        if part in row and whole in row and _small(row[whole] - row[part]) and part not in hidden:
            out[part] = None
            hidden.append(part)
    if any(k in row for k in DERIVED) and not (isinstance(row.get("n"), int) and row["n"] > MAX):
        for key in DERIVED:
            if row.get(key) is not None:
                out[key] = None
                hidden.append(key)
    for key in DERIVED:
        if isinstance(out.get(key), float):
            out[key] = round(out[key], 1)
    out["suppressed"] = bool(hidden)
    if hidden:
        out["suppressed_fields"] = sorted(hidden)
    return out


def disclose(raw: dict[str, list[Row]]) -> dict[str, list[dict[str, Any]]]:
    """Every figure's rows as they may be shown: figures about people pass through `suppress_row`."""
    shown: dict[str, list[dict[str, Any]]] = {}
    for figure in FIGURES:
        rows = raw.get(figure.key, [])
        if figure.about_people:
            shown[figure.key] = [suppress_row(r, set(figure.dimensions) | {"month"}) for r in rows]
        else:
            shown[figure.key] = [{**r, "suppressed": False} for r in rows]
    return shown
