"""Which Railway project, environment and services a run works on, resolved once.

The project file names them by name or id (`railway:`), `--env NAME` picks a
Railway environment through `railway.environments`, and a project token names
its own project and environment. One `project` query turns every name into an
id; each service's instance (replicas, latest deployment) is read on demand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dragonfly_ci.config import Project, RailwayService
from dragonfly_ci.errors import BadInput, CouldNotCheck
from dragonfly_ci.railway import documents
from dragonfly_ci.railway.client import Client, RailwayError, Unauthorized
from dragonfly_ci.railway.replicas import Replicas

_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass(frozen=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    config_file: Path | None = None  # the project file's override of the config-as-code file


@dataclass(frozen=True)
class Deployment:
    id: str
    status: str
    can_redeploy: bool = True


@dataclass(frozen=True)
class Instance:
    """A service in an environment, as read now."""

    service: Service
    replicas: Replicas
    latest: Deployment | None
    railway_config_file: str | None  # as Railway has it, relative to the repository
    root_directory: str | None


@dataclass(frozen=True)
class Scope:
    project: Named
    environment: Named
    services: tuple[Service, ...]


def resolve(client: Client, project: Project, *, env: str | None, services: list[str]) -> Scope:
    """Names to ids: the project, the environment (`--env` through railway.environments),
    and the services (`--service`, else railway.services)."""
    settings = project.railway
    token_scope = _token_scope(client) if client.token.is_project_token else None
    environment_ref = _environment_ref(project, env, token_scope)
    refs = _service_refs(project, services)

    project_ref = settings.project
    if project_ref is None and token_scope is None:
        raise _settings_error(project, "no Railway project: railway.project is not set",
                              "set railway.project to the project's name or id, or use a project "
                              "token (RAILWAY_TOKEN), which names its project")
    project_id = _project_id(client, project_ref, token_scope)
    try:
        found = client.query(documents.PROJECT, {"id": project_id},
                             doing=f"reading Railway project {project_ref or project_id!r}")["project"]
    except RailwayError as exc:
        if exc.not_found:
            raise CouldNotCheck(f"Railway project {project_ref or project_id!r} not found",
                                hint="check railway.project in dragonfly.yml, and that the token can "
                                "see the project") from None
        raise
    named_project = Named(found["id"], found["name"])
    if project_ref and token_scope and project_ref != found["id"] \
            and project_ref.lower() != found["name"].lower():
        raise CouldNotCheck(f"RAILWAY_TOKEN is a project token of project {found['name']!r}, "
                            f"not {project_ref!r}", hint="use a project token of the project "
                            "railway.project names")

    environments = [Named(e["node"]["id"], e["node"]["name"]) for e in found["environments"]["edges"]]
    environment = _pick(environments, environment_ref, "environment", named_project)
    if token_scope and token_scope[1] and environment.id != token_scope[1]:
        token_env = next((e.name for e in environments if e.id == token_scope[1]), token_scope[1])
        raise CouldNotCheck(f"RAILWAY_TOKEN is a project token of environment {token_env!r}, "
                            f"not {environment.name!r}",
                            hint=f"use a project token of {environment.name!r}, or an account token in "
                            "RAILWAY_API_TOKEN")
    known = [Named(s["node"]["id"], s["node"]["name"]) for s in found["services"]["edges"]]
    chosen = []
    for ref in refs:
        named = _pick(known, ref.ref, "service", named_project)
        chosen.append(Service(named.id, named.name, ref.config_file))
    return Scope(named_project, environment, tuple(dict.fromkeys(chosen)))


def read_instance(client: Client, environment: Named, service: Service) -> Instance:
    try:
        found = client.query(documents.SERVICE_INSTANCE,
                             {"serviceId": service.id, "environmentId": environment.id},
                             doing=f"reading service {service.name!r}")["serviceInstance"]
    except RailwayError as exc:
        if exc.not_found:
            raise CouldNotCheck(f"Railway service {service.name!r} has no instance in environment "
                                f"{environment.name!r}",
                                hint="deploy the service to that environment, or pick another "
                                "environment (--env)") from None
        raise
    latest = found.get("latestDeployment")
    return Instance(
        service, Replicas.from_instance(found),
        Deployment(latest["id"], latest["status"], bool(latest.get("canRedeploy", True))) if latest else None,
        found.get("railwayConfigFile"), found.get("rootDirectory"),
    )


def _token_scope(client: Client) -> tuple[str, str | None]:
    """A project token's project and environment ids."""
    try:
        found = client.query(documents.PROJECT_TOKEN, doing="reading what the project token gives access to")
    except RailwayError as exc:
        if isinstance(exc, Unauthorized):
            raise
        raise Unauthorized(f"Railway did not accept the token in {client.token.described}: {exc.message}",
                           hint=client.token.refused_hint) from None
    token = found["projectToken"]
    return token["projectId"], token.get("environmentId")


def _environment_ref(project: Project, env: str | None, token_scope: tuple[str, str | None] | None) -> str:
    settings = project.railway
    if env is not None:
        ref = settings.environments.get(env)
        if ref is None:
            known = ", ".join(sorted(settings.environments)) or "none"
            raise _settings_error(project, f"--env {env}: railway.environments has no {env!r} "
                                  f"(known: {known})",
                                  f"map it to its Railway environment, e.g. railway: {{environments: "
                                  f"{{{env}: production}}}}", key=("railway", "environments"))
        return ref
    if settings.environment:
        return settings.environment
    if token_scope and token_scope[1]:
        return token_scope[1]
    raise _settings_error(project, "no Railway environment: pass --env NAME, or set railway.environment",
                          "set railway.environment (e.g. production), or railway.environments for --env")


def _service_refs(project: Project, services: list[str]) -> list[RailwayService]:
    declared = project.railway.services
    if not services:
        if not declared:
            raise _settings_error(project, "no Railway service: pass --service NAME, or list "
                                  "railway.services",
                                  "list the worker services under railway.services in dragonfly.yml")
        return list(declared)
    by_ref = {s.ref: s for s in declared}
    return [by_ref.get(ref, RailwayService(ref)) for ref in services]


def _project_id(client: Client, ref: str | None, token_scope: tuple[str, str | None] | None) -> str:
    if token_scope is not None:
        return token_scope[0]
    assert ref is not None
    if _ID.match(ref):
        return ref
    found = client.query(documents.PROJECTS, doing=f"looking up Railway project {ref!r}")["projects"]
    projects = [Named(e["node"]["id"], e["node"]["name"]) for e in found["edges"]]
    return _pick(projects, ref, "project", None).id


def _pick(candidates: list[Named], ref: str, what: str, project: Named | None) -> Named:
    """By id, else by name as Railway's CLI matches it (ignoring case); never a guess."""
    for candidate in candidates:
        if candidate.id == ref:
            return candidate
    matches = [c for c in candidates if c.name.lower() == ref.lower()]
    exact = [c for c in matches if c.name == ref]
    if len(matches) == 1 or len(exact) == 1:
        return (exact or matches)[0]
    where = f" in project {project.name!r}" if project else ""
    if matches:
        ids = ", ".join(c.id for c in matches)
        raise CouldNotCheck(f"Railway {what} {ref!r} is ambiguous{where}: {ids}",
                            hint=f"name the {what} by its id")
    names = ", ".join(sorted(c.name for c in candidates)) or "none"
    raise CouldNotCheck(f"Railway {what} {ref!r} not found{where} (known: {names})",
                        hint=f"check the {what}'s name in dragonfly.yml or on the command line; the token "
                        f"must be able to see it")


def _settings_error(project: Project, message: str, hint: str, key: tuple[Any, ...] = ("railway",)
                    ) -> BadInput:
    if project.doc is not None and project.file is not None:
        return BadInput(message, file=project.display(project.file), line=project.doc.key_line(key)
                        if "railway" in project.doc.data else None, hint=hint)
    return BadInput(message, hint=hint)
