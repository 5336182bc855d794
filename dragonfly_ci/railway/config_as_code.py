"""Replicas set in a service's config-as-code file (railway.json or railway.toml).

Railway applies the file at every deploy of the service, so replicas set there
undo a scale made through the API at the next deploy. The file is the one the
project file names for the service, else the one Railway uses: the service's
`railwayConfigFile`, else railway.json or railway.toml in its root directory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dragonfly_ci.errors import BadInput

_KEYS = ("numReplicas", "multiRegionConfig")


@dataclass(frozen=True)
class ReplicasSetting:
    file: Path
    line: int | None
    keys: tuple[str, ...]  # dotted paths, e.g. deploy.numReplicas


def candidates(repo_root: Path, override: Path | None, railway_config_file: str | None,
               root_directory: str | None) -> list[Path]:
    if override is not None:
        return [override]
    if railway_config_file:
        return [repo_root / railway_config_file.lstrip("/")]
    folder = repo_root / (root_directory or "").strip("/")
    return [folder / "railway.json", folder / "railway.toml"]


def replicas_setting(files: list[Path], environment: str, *, required: bool, display: str
                     ) -> ReplicasSetting | None:
    """Where the first existing file sets replicas (at the top or for `environment`), if it does.
    `required`: the project file named the file, so it must exist."""
    path = next((f for f in files if f.is_file()), None)
    if path is None:
        if required:
            raise BadInput("the service's config_file does not exist", file=display,
                           hint="fix railway.services[].config_file in dragonfly.yml, or remove it")
        return None
    try:
        text = path.read_text(encoding="utf-8")
        config = _parse(path, text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # Railway itself refuses such a file at deploy; it sets nothing we can see
    found = []
    for prefix, section in (("", config), (f"environments.{environment}.", _get(config, "environments",
                                                                                  environment))):
        deploy = _get(section, "deploy")
        found += [f"{prefix}deploy.{key}" for key in _KEYS if isinstance(deploy, dict) and key in deploy]
    if not found:
        return None
    pattern = re.compile(r"\b(" + "|".join(_KEYS) + r")\b")
    line = next((i for i, text_line in enumerate(text.splitlines(), 1) if pattern.search(text_line)), None)
    return ReplicasSetting(path, line, tuple(found))


def _parse(path: Path, text: str) -> dict[str, Any]:
    if path.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        return tomllib.loads(text)
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    return parsed


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
