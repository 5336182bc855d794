"""The project file, `dragonfly.yml`, and what it resolves to."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dragonfly_ci.errors import BadInput
from dragonfly_ci.yamldoc import Document, load

PROJECT_FILE = "dragonfly.yml"
SHADOW_URL_ENV = "DRAGONFLY_SHADOW_URL"

# What `railway watch` counts as an error line unless the project file says otherwise.
DEFAULT_ERROR_PATTERNS = (
    r"\b(ERROR|CRITICAL|FATAL)\b",
    r"Traceback \(most recent call last\)",
    r"(?i)\bunhandled (exception|promise rejection)\b",
)


@dataclass(frozen=True)
class RailwayService:
    """A worker service as the project file lists it: a Railway name or id."""

    ref: str
    config_file: Path | None = None  # absolute; None: the file Railway itself uses


@dataclass(frozen=True)
class RailwaySettings:
    """The `railway:` section: which project, environment and services, and how to watch."""

    project: str | None = None  # name or id; None: the project token's
    environment: str | None = None  # name or id; None: the project token's
    environments: dict[str, str] = field(default_factory=dict)  # --env NAME -> Railway environment
    services: tuple[RailwayService, ...] = ()
    redeploy_timeout: float = 600.0
    redeploy_poll_seconds: float = 5.0
    watch_minutes: float = 15.0
    watch_poll_seconds: float = 30.0
    error_patterns: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in DEFAULT_ERROR_PATTERNS)
    max_error_lines: int = 0


@dataclass(frozen=True)
class Project:
    root: Path  # the folder of the project file (or where zero-config found supabase/)
    repo_root: Path  # paths in findings are relative to this, as annotations need
    file: Path | None  # None in zero-configuration mode
    supabase_dir: Path
    contract_file: Path
    contract_required: bool  # named in the project file: then it must exist
    exposed_schemas: tuple[str, ...]
    shadow_url: str | None
    platform: str
    rules: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict] = field(default_factory=dict)
    migrate: dict = field(default_factory=dict)
    dashboard_views: tuple[str, ...] = ()  # globs, relative to the project file
    preflight: dict = field(default_factory=dict)
    drift: dict = field(default_factory=dict)
    railway: RailwaySettings = field(default_factory=RailwaySettings)
    doc: Document | None = None

    @property
    def smoke(self) -> dict:
        """The `smoke:` section (steps for `dragonfly-ci smoke`); empty when absent."""
        return dict(self.doc.data.get("smoke", {})) if self.doc else {}

    @property
    def migrations_dir(self) -> Path:
        return self.supabase_dir / "migrations"

    def display(self, path: Path) -> str:
        """A path as findings show it: relative to the repository, with slashes."""
        try:
            return path.resolve().relative_to(self.repo_root).as_posix()
        except ValueError:
            return path.as_posix()

    def resolve_shadow_url(self, override: str | None) -> str | None:
        """--shadow-url, then $DRAGONFLY_SHADOW_URL, then the project file; None: embedded."""
        return override or os.environ.get(SHADOW_URL_ENV) or self.shadow_url

    def assumptions(self) -> str:
        """What zero-configuration mode assumed, in one line."""
        return (
            f"no {PROJECT_FILE}: assumed supabase_dir={self.display(self.supabase_dir)}, "
            f"platform={self.platform}, exposed schemas {', '.join(self.exposed_schemas)}, "
            f"an embedded shadow database"
        )


def find_project_file(start: Path) -> Path | None:
    """dragonfly.yml in `start` or an ancestor, stopping at the repository root."""
    for folder in [start, *start.parents]:
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def _repo_root(start: Path) -> Path:
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return start


def load_project(project_file: Path | None = None, cwd: Path | None = None) -> Project:
    cwd = (cwd or Path.cwd()).resolve()
    if project_file is not None:
        project_file = (cwd / project_file).resolve()
        if project_file.is_dir():
            project_file = project_file / PROJECT_FILE
        if not project_file.is_file():
            raise BadInput("project file not found", file=project_file,
                           hint=f"pass the path of a {PROJECT_FILE}, or omit --project-file")
    else:
        project_file = find_project_file(cwd)
    if project_file is None:
        return _zero_config(cwd)

    doc = load(project_file, schema="dragonfly", what="project file")
    data = doc.data
    root = project_file.parent
    supabase_dir = root / data.get("supabase_dir", "supabase")
    if not supabase_dir.is_dir():
        raise BadInput(
            f"Supabase directory {data.get('supabase_dir', 'supabase')!r} not found",
            file=project_file,
            line=doc.line(("supabase_dir",)),
            hint="set supabase_dir to the folder that holds migrations/ (relative to this file)",
        )
    contract = data.get("contract")
    shadow = data.get("shadow", {})
    return Project(
        root=root,
        repo_root=_repo_root(root),
        file=project_file,
        supabase_dir=supabase_dir,
        contract_file=root / contract if contract else supabase_dir / "contract.yml",
        contract_required=contract is not None,
        exposed_schemas=tuple(data["exposed_schemas"] if "exposed_schemas" in data
                              else _config_toml_schemas(supabase_dir)),
        shadow_url=shadow.get("url"),
        platform=shadow.get("platform", "supabase"),
        rules=dict(data.get("rules", {})),
        environments=dict(data.get("environments", {})),
        migrate=dict(data.get("migrate", {})),
        dashboard_views=tuple(data.get("dashboard_views", ())),
        preflight=dict(data.get("preflight", {})),
        drift=dict(data.get("drift", {})),
        railway=_railway_settings(doc, root),
        doc=doc,
    )


def _railway_settings(doc: Document, root: Path) -> RailwaySettings:
    # The project file's schema has checked every type here.
    section = doc.data.get("railway") or {}
    services = []
    for item in section.get("services", ()):
        if isinstance(item, str):
            services.append(RailwayService(item))
        else:
            file = item.get("config_file")
            services.append(RailwayService(item["service"], root / file if file else None))
    redeploy, watch = section.get("redeploy", {}), section.get("watch", {})
    patterns = []
    for i, pattern in enumerate(watch.get("error_patterns", DEFAULT_ERROR_PATTERNS)):
        try:
            patterns.append(re.compile(pattern))
        except re.error as exc:
            raise doc.error(f"railway.watch.error_patterns: {pattern!r} is not a regular expression: {exc}",
                            ("railway", "watch", "error_patterns", i),
                            hint="write a Python regular expression, e.g. '\\bERROR\\b'") from None
    defaults = RailwaySettings()
    return RailwaySettings(
        project=section.get("project"),
        environment=section.get("environment"),
        environments=dict(section.get("environments", {})),
        services=tuple(services),
        redeploy_timeout=float(redeploy.get("timeout", defaults.redeploy_timeout)),
        redeploy_poll_seconds=float(redeploy.get("poll_seconds", defaults.redeploy_poll_seconds)),
        watch_minutes=float(watch.get("minutes", defaults.watch_minutes)),
        watch_poll_seconds=float(watch.get("poll_seconds", defaults.watch_poll_seconds)),
        error_patterns=tuple(patterns),
        max_error_lines=int(watch.get("max_error_lines", defaults.max_error_lines)),
    )


def _zero_config(cwd: Path) -> Project:
    for folder in [cwd, *cwd.parents]:
        if (folder / "supabase" / "migrations").is_dir():
            root = folder
            break
        if (folder / ".git").exists():
            root = cwd
            break
    else:
        root = cwd
    supabase_dir = root / "supabase"
    if not (supabase_dir / "migrations").is_dir():
        raise BadInput(
            f"no {PROJECT_FILE} and no supabase/migrations directory here",
            file=cwd,
            hint=f"run from a repository with supabase/migrations/, or pass --project-file {PROJECT_FILE}",
        )
    return Project(
        root=root,
        repo_root=_repo_root(root),
        file=None,
        supabase_dir=supabase_dir,
        contract_file=supabase_dir / "contract.yml",
        contract_required=False,
        exposed_schemas=tuple(_config_toml_schemas(supabase_dir)),
        shadow_url=None,
        platform="supabase",
    )


def _config_toml_schemas(supabase_dir: Path) -> list[str]:
    """The schemas PostgREST exposes, as the Supabase CLI's config.toml says."""
    path = supabase_dir / "config.toml"
    if not path.is_file():
        return ["public"]
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"invalid TOML: {exc}", file=path, hint="fix config.toml's syntax") from None
    api = config.get("api")
    schemas = api.get("schemas") if isinstance(api, dict) else None
    if isinstance(schemas, list) and all(isinstance(s, str) for s in schemas) and schemas:
        return schemas
    return ["public"]
