"""Whether an endpoint takes structured answers (`response_format` with a JSON schema), found
out once per endpoint and model and kept in the judge cache; and the per-role counts of
structured and unreadable answers.

The OpenAI form (`json_schema`) is tried first, then llama-cpp-python's (`json_object` with a
`schema`); a server known to want the latter (the local llama-cpp-python server) starts there.
A request that the server rejects with an error naming the response format (HTTP 400 or 422,
or the 500 of older llama.cpp servers) moves the endpoint to the next form, and after the last
to the text protocol; the first answered request confirms a form. The state is kept in
<judge cache>/structured-output.json, so later runs do not ask again.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from adlens.judges.schemas import FORMS
from adlens.store.rundir import write_json

log = logging.getLogger(__name__)

STATE_FILE = "structured-output.json"
TEXT = "text"  # the endpoint takes no response_format: the text protocol only
REJECT_STATUS = (400, 422, 500, 501)
_NAMES_FORMAT = re.compile(
    r"response_format|response format|json_schema|json_object|structured output|guided_json",
    re.IGNORECASE,
)
MAX_PROBES = 3  # unconfirmed endpoint: first requests of a batch sent alone, at most this often


def rejects_format(status: int | None, message: str) -> bool:
    """True when an error answer says the server does not take this `response_format`."""
    return status in REJECT_STATUS and bool(_NAMES_FORMAT.search(message or ""))


class SchemaSupport:
    """The response_format form an endpoint takes: `form()` is the one to send now (None:
    the text protocol); `rejected` moves on to the next form, `accepted` confirms it."""

    def __init__(self, cache_dir: Path | None, endpoint: str, model: str):
        self.path = cache_dir / STATE_FILE if cache_dir else None
        self.key = f"{endpoint} {model}"
        self._lock = threading.Lock()
        self.probes = 0
        first = "json_object" if endpoint.startswith("llama-cpp-python") else FORMS[0]
        self.state: dict[str, Any] = {"form": first, "confirmed": False}
        saved = self._load().get(self.key)
        if isinstance(saved, dict) and saved.get("form") in (*FORMS, TEXT):
            self.state = saved

    def _load(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable %s", self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        if self.path is None:
            return
        data = self._load()
        data[self.key] = self.state
        try:
            write_json(self.path, data)
        except OSError as err:
            log.warning("cannot save %s: %s", self.path, err)

    def form(self) -> str | None:
        form = self.state["form"]
        return None if form == TEXT else str(form)

    @property
    def confirmed(self) -> bool:
        return bool(self.state.get("confirmed")) or self.state["form"] == TEXT

    def needs_probe(self) -> bool:
        """Unconfirmed: send one structured request alone before the rest of a batch."""
        return not self.confirmed and self.probes < MAX_PROBES

    def accepted(self, form: str) -> None:
        with self._lock:
            if self.state["form"] != form or self.state.get("confirmed"):
                return
            self.state = {**self.state, "confirmed": True, "checked": _now()}
            self._save()

    def rejected(self, form: str, reason: str) -> None:
        with self._lock:
            if self.state["form"] != form:
                return  # another request already moved on
            later = FORMS[FORMS.index(form) + 1 :] if form in FORMS else ()
            nxt = later[0] if later else TEXT
            log.warning(
                "judge endpoint %s rejected response_format %s (%s); %s",
                self.key,
                form,
                reason,
                f"trying {nxt}" if nxt != TEXT else "using the text protocol",
            )
            self.state = {"form": nxt, "confirmed": nxt == TEXT, "reason": reason[:300]}
            self.state["checked"] = _now()
            self._save()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


ROLE_COUNTS = ("answers", "structured", "unreadable", "unknown")


class RoleCounts:
    """Per role (the request tag's first part): first answers, how many were structured, how
    many could not be read (before any reminder), and how many stayed UNKNOWN after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def add(self, role: str, **counts: int) -> None:
        with self._lock:
            row = self._counts.setdefault(role, dict.fromkeys(ROLE_COUNTS, 0))
            for name, n in counts.items():
                row[name] += n

    def to_json(self) -> dict[str, dict[str, Any]]:
        """Counts per role, with the parse rate: readable first answers over all."""
        with self._lock:
            out: dict[str, dict[str, Any]] = {r: dict(c) for r, c in self._counts.items()}
        for row in out.values():
            n = row["answers"]
            row["parse_rate"] = round(1 - row["unreadable"] / n, 4) if n else None
        return out


def role_of(tag: str) -> str:
    return tag.split(":", 1)[0] or "judge"


def count(client: Any, role: str, **counts: int) -> None:
    """Add to the client's per-role counts (a client without them is left alone)."""
    counter = getattr(client, "role_counts", None)
    if isinstance(counter, RoleCounts):
        counter.add(role, **counts)
