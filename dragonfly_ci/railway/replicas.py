"""A service's replicas, as Railway stores them, and the update that changes them.

Railway keeps two forms. A service instance has `numReplicas` and `region`;
a service placed in several regions has a `multiRegionConfig`, `{region:
{"numReplicas": n}}`, which the API accepts in `serviceInstanceUpdate` and
shows in a deployment's manifest. As the Railway CLI and dashboard do, a region
scaled to zero is sent as `null` (it leaves the configuration), so what was
there before must be recorded to be put back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Replicas:
    num_replicas: int | None  # the service instance's numReplicas (None: Railway's default)
    region: str | None = None  # the service instance's region
    regions: dict[str, int] | None = None  # per region, when the manifest has a multiRegionConfig

    @classmethod
    def from_instance(cls, instance: dict[str, Any]) -> Replicas:
        """From a ServiceInstance answer (documents.SERVICE_INSTANCE)."""
        latest = instance.get("latestDeployment") or {}
        return cls(instance.get("numReplicas"), instance.get("region"),
                   _manifest_regions(latest.get("meta")))

    def per_region(self) -> dict[str, int]:
        """Replicas by region, zeros left out: the form two states are compared in."""
        if self.regions is not None:
            return {r: n for r, n in self.regions.items() if n}
        count = 1 if self.num_replicas is None else self.num_replicas
        return {self.region or "default": count} if count else {}

    @property
    def total(self) -> int:
        return sum(self.per_region().values())

    def describe(self) -> str:
        counts = self.per_region()
        if self.regions is None:
            where = f" in {self.region}" if self.region else ""
            count = self.total if self.num_replicas is not None else "Railway's default (1)"
            return f"{count}{where}"
        if not counts:
            return "0"
        if len(counts) == 1:
            (region, count), = counts.items()
            return f"{count} in {region}"
        return f"{self.total} ({', '.join(f'{r}: {n}' for r, n in sorted(counts.items()))})"

    def to_json(self) -> dict[str, Any]:
        return {"numReplicas": self.num_replicas, "region": self.region, "regions": self.regions}

    @classmethod
    def from_json(cls, data: Any) -> Replicas:
        """From the state file; ValueError when the shape is wrong."""
        if not isinstance(data, dict):
            raise ValueError("replicas is not a mapping")
        num, region, regions = data.get("numReplicas"), data.get("region"), data.get("regions")
        if num is not None and not (isinstance(num, int) and num >= 0):
            raise ValueError("replicas.numReplicas is not a count")
        if region is not None and not isinstance(region, str):
            raise ValueError("replicas.region is not a string")
        if regions is not None and not (isinstance(regions, dict) and all(
                isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in regions.items())):
            raise ValueError("replicas.regions is not a mapping of region to count")
        return cls(num, region, regions)


def change_to(current: Replicas, replicas: int | None, by_region: dict[str, int]
              ) -> tuple[dict[str, Any], Replicas] | None:
    """The serviceInstanceUpdate input that sets `replicas` in every region the service
    runs in, then the counts in `by_region`, and what it leads to; None: no change."""
    running = current.per_region() if current.regions is not None else {}
    places = list(running) or ([current.region] if current.region else [])
    if not by_region and (current.regions is None or not places):  # a plain count
        if replicas is None or current.num_replicas == replicas:
            return None
        return {"numReplicas": replicas}, Replicas(replicas, current.region, None)
    wanted = dict.fromkeys(places, replicas) if replicas is not None else dict(running)
    wanted.update(by_region)
    counts = {r: n for r, n in wanted.items() if n}
    if counts == running and current.regions is not None:
        return None
    return ({"multiRegionConfig": _config(counts, running)},
            Replicas(sum(counts.values()), current.region, counts))


def restore_to(current: Replicas, recorded: Replicas) -> tuple[dict[str, Any], Replicas] | None:
    """The update that puts back `recorded`; None when the service already runs as recorded."""
    if recorded.regions is not None:
        running = current.per_region() if current.regions is not None else {}
        if current.regions is not None and running == recorded.per_region():
            return None
        return {"multiRegionConfig": _config(recorded.per_region(), running)}, recorded
    if current.num_replicas == recorded.num_replicas and current.regions is None:
        return None
    return {"numReplicas": recorded.num_replicas}, recorded


def _config(wanted: dict[str, int], running: dict[str, int]) -> dict[str, Any]:
    """Railway's multiRegionConfig: a count per region, null for a region to leave."""
    config: dict[str, Any] = {r: {"numReplicas": n} for r, n in sorted(wanted.items())}
    config.update({r: None for r in sorted(running) if r not in wanted})
    return config


def _manifest_regions(meta: Any) -> dict[str, int] | None:
    """`serviceManifest.deploy.multiRegionConfig` of a deployment's meta, as counts."""
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    deploy = ((meta or {}).get("serviceManifest") or {}).get("deploy") if isinstance(meta, dict) else None
    config = deploy.get("multiRegionConfig") if isinstance(deploy, dict) else None
    if not isinstance(config, dict):
        return None
    counts = {}
    for region, entry in config.items():
        count = entry.get("numReplicas") if isinstance(entry, dict) else None
        counts[str(region)] = count if isinstance(count, int) and count > 0 else 0
    return counts
