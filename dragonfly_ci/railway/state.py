"""The state file: what `railway scale` found before it changed anything.

One record per service and environment, holding ids (so `restore` needs no
name lookups and no project file) and the replicas as Railway had them. A
second scale before a restore keeps the first record: restoring must return to
what ran before the release, not to the freeze. A restore marks records
restored; a later scale may then record afresh. The same document is the
`state` step output, so a restore in another job can be given it with
`--state`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dragonfly_ci.errors import BadInput
from dragonfly_ci.railway.replicas import Replicas

VERSION = 1
FILE_NAME = "dragonfly-railway-state.json"


@dataclass(frozen=True)
class Record:
    project_id: str
    environment_id: str
    environment: str
    service_id: str
    service: str
    replicas: Replicas
    recorded_at: str
    restored_at: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.environment_id, self.service_id)

    def to_json(self) -> dict[str, Any]:
        return {"projectId": self.project_id, "environmentId": self.environment_id,
                "environment": self.environment, "serviceId": self.service_id, "service": self.service,
                "replicas": self.replicas.to_json(), "recordedAt": self.recorded_at,
                "restoredAt": self.restored_at}


@dataclass
class State:
    records: list[Record] = field(default_factory=list)

    def find(self, environment_id: str, service_id: str) -> Record | None:
        return next((r for r in self.records if r.key == (environment_id, service_id)), None)

    def record(self, new: Record) -> Record:
        """Keep an unrestored record of the same service; replace a restored one.
        Returns the record that now stands."""
        old = self.find(*new.key)
        if old is not None and old.restored_at is None:
            return old
        self.records = [r for r in self.records if r.key != new.key] + [new]
        return new

    def mark_restored(self, key: tuple[str, str], when: str) -> None:
        self.records = [replace(r, restored_at=when) if r.key == key else r for r in self.records]

    def to_json(self) -> str:
        """Compact, on one line: it is also a step output."""
        return json.dumps({"version": VERSION, "services": [r.to_json() for r in self.records]},
                          separators=(",", ":"))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def default_path(project_root: Path) -> Path:
    """In Actions the job's temporary folder, which later steps of the job share;
    elsewhere .dragonfly/ in the project's folder."""
    runner_temp = os.environ.get("RUNNER_TEMP", "").strip()
    if runner_temp:
        return Path(runner_temp) / FILE_NAME
    return project_root / ".dragonfly" / "railway-state.json"


def parse(text: str, source: str) -> State:
    """A state document; empty text is a state with nothing recorded. BadInput names `source`."""
    if not text.strip():
        return State()
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"the Railway state is not JSON: {exc}", file=source,
                       hint="pass the `state` output of `railway scale` unchanged") from None
    if document == {}:
        return State()
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise BadInput(f"the Railway state is not a version {VERSION} state document", file=source,
                       hint="pass the `state` output of `railway scale` unchanged")
    services = document.get("services")
    if not isinstance(services, list):
        raise BadInput("the Railway state has no list of services", file=source)
    records = []
    for i, entry in enumerate(services):
        try:
            records.append(_record(entry))
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(f"the Railway state's service {i + 1} is malformed: {exc}", file=source,
                           hint="pass the `state` output of `railway scale` unchanged") from None
    return State(records)


def _record(entry: Any) -> Record:
    if not isinstance(entry, dict):
        raise ValueError("not a mapping")
    texts = {}
    for key in ("projectId", "environmentId", "environment", "serviceId", "service", "recordedAt"):
        value = entry[key]
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} is not a non-empty string")
        texts[key] = value
    restored = entry.get("restoredAt")
    if restored is not None and not isinstance(restored, str):
        raise ValueError("restoredAt is not a string")
    return Record(texts["projectId"], texts["environmentId"], texts["environment"], texts["serviceId"],
                  texts["service"], Replicas.from_json(entry["replicas"]), texts["recordedAt"], restored)


def load(path: Path, display: str) -> State:
    """The state file; a missing file is a state with nothing recorded."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read the Railway state file: {exc}", file=display) from None
    return parse(text, display)


def save(path: Path, state: State) -> None:
    """Write atomically: a crash mid-write must not lose what was recorded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(state.to_json() + "\n", encoding="utf-8")
    os.replace(partial, path)
