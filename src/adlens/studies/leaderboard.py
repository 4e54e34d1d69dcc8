"""The sweep leaderboard: ranking the rows and writing them to out/leaderboard.{csv,md,html,json}."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import Any

from adlens.report.tables import cell_text
from adlens.store.rundir import write_json, write_text

LEADERBOARD = "leaderboard"


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best relevance first (rows without a grade last, in sweep order)."""
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i].get("relevance") is None, -(rows[i].get("relevance") or 0), i),
    )
    return [{"rank": n + 1, **rows[i]} for n, i in enumerate(order)]


FIRST = ["rank", "organism", "ratio", "documents", "relevance"]
# Per reader (sweep_row.leaderboard_row): <prefix>_relevance, <prefix>_position, <prefix>_base_mean;
# the logit lens (ll) and Patchscope (ps) first, then any other reader as its rows name it.
READER_COLUMNS = ("relevance", "position", "base_mean")
FIRST_READERS = ("ll", "ps")
AFTER_READERS = ["domain_tokens", "domain_base_mean", "steered_vs_D", "unsteered_vs_D"]
AFTER_READERS += ["of_ceiling", "ffa_base", "ffa_ft", "ffa_diff"]
LAST = ["grader", "run", "notes"]


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The fixed columns any row fills (each reader's between them), then agent grades, then
    the bookkeeping."""
    present = {k for r in rows for k, v in r.items() if v not in (None, "")}
    agents = sorted({k for r in rows for k in r if k.startswith("agent_")})
    found = [k.removesuffix("_relevance") for r in rows for k in r if k.endswith("_relevance")]
    readers = list(dict.fromkeys([*FIRST_READERS, *found]))
    per_reader = [f"{p}_{c}" for p in readers for c in READER_COLUMNS]
    cols = [
        c for c in FIRST + per_reader + AFTER_READERS if c in present or c in ("rank", "organism")
    ]
    return cols + agents + [c for c in LAST if c in present]


def write_leaderboard(out: Path, rows: list[dict[str, Any]]) -> None:
    cols = columns(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / f"{LEADERBOARD}.csv", buf.getvalue())
    md = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    md += "".join("| " + " | ".join(cell_text(r.get(c)) for c in cols) + " |\n" for r in rows)
    write_text(out / f"{LEADERBOARD}.md", md)
    write_text(out / f"{LEADERBOARD}.html", leaderboard_html(rows, cols))
    write_json(out / f"{LEADERBOARD}.json", {"columns": cols, "rows": rows})


def leaderboard_html(rows: list[dict[str, Any]], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell_text(r.get(c)))}</td>" for c in cols) + "</tr>\n"
        for r in rows
    )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>adlens sweep</title>\n"
        "<style>body{font-family:system-ui,sans-serif;margin:2em}"
        "table{border-collapse:collapse;font-size:14px}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th{background:#f3f3f3}td:nth-child(2){text-align:left}"
        "tr:nth-child(even){background:#fafafa}</style></head><body>\n"
        "<h1>adlens sweep: leaderboard</h1>\n"
        "<p>relevance: share of the top tokens of the difference (best position) graded "
        "relevant to the organism, per reader (ll = logit lens, ps = Patchscope, other "
        "readers by name); base_mean: the same for "
        "the base model's mean activation. Similarity: steered samples vs the finetuning "
        "data. ffa: false-fact alignment, the share of answers siding with the implanted "
        "fact (base, finetuned, difference). Agent columns: mean hypothesis grade (1-5).</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n"
        "</body></html>\n"
    )
