"""The raw figures of one report: plain dicts of numbers, before labels and the "<5" rule.

`collect(region_id, start, end)` returns
    {"months": [{"month": "YYYY-MM", "registered", "in_force", "taken_into_use", "uses",
                 "adults", "children", "assistants"}, …]   (every month of the range, in order),
     "splits": {split: [{"key", "name", "cards", "uses", "adults", "children", "assistants"}, …]},
     "refused": [{"reason", "scans"}, …]}
"""
from __future__ import annotations

from datetime import date

from app.extensions import db
from app.stats import queries

TICKETS = ("adults", "children", "assistants")
_NAMED = {"venue": ("venue_id", "venue_name"), "municipality": ("municipality_id", "municipality_name"),
          "issuing_site": ("issuing_site_id", "issuing_site_name")}


def collect(region_id: int | None, start: date, end: date) -> dict:
    """Every figure of DESIGN §8 for the scope and [start, end), read from the visits."""
    return collect_raw(region_id, start, end)


def collect_raw(region_id: int | None, start: date, end: date) -> dict:
    """The figures straight from the cards, visits and scan attempts (the reference)."""
    run = db.session.execute
    labels = [label for label, _, _ in queries.months(start, end)]
    by_month = {label: {"month": label, "registered": 0, "in_force": 0, "taken_into_use": 0,
                        "uses": 0, **dict.fromkeys(TICKETS, 0)} for label in labels}
    for row in run(queries.uses_by_month(region_id, start, end)).mappings():
        by_month[row["month"]].update({k: int(row[k]) for k in ("uses", *TICKETS)})
    for row in run(queries.cards_registered_by_month(region_id, start, end)).mappings():
        by_month[row["month"]]["registered"] = int(row["registered"])
    for row in run(queries.cards_in_force_by_month(region_id, start, end)).mappings():
        by_month[row["month"]]["in_force"] = int(row["cards"])
    for row in run(queries.cards_taken_into_use_by_month(region_id, start, end)).mappings():
        by_month[row["month"]]["taken_into_use"] = int(row["cards"])
    splits = {}
    for split, (query, keys) in queries.SPLITS.items():
        rows = []
        for row in run(query(region_id, start, end)).mappings():
            rows.append({"key": row[keys[0]], "name": row[keys[1]] if len(keys) > 1 else None,
                         "cards": int(row["distinct_cards"]), "uses": int(row["uses"]),
                         **{t: int(row[t]) for t in TICKETS}})
        splits[split] = rows
    refused = [{"reason": r.reason, "scans": int(r.scans)}
               for r in run(queries.refused_scans_by_reason(region_id, start, end))]
    return {"months": list(by_month.values()), "splits": splits, "refused": refused}
