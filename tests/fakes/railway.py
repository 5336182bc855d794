"""A loopback Railway public API (`/graphql/v2`) that validates everything it is sent.

Every request's document is parsed and validated against Railway's real schema
(`tests/fixtures/railway/schema.json`, the railwayapp/cli introspection)
with graphql-core, and its variables are coerced against the operation's
declared types. A document or variables that do not validate are answered with
a GraphQL error (HTTP 400) and recorded in `invalid`; the `railway` test fixture
fails any test that leaves something there. Valid documents are then executed
by graphql-core itself over the in-memory state below, so the shape of every
answer is the schema's.

State: projects with environments and services; a service instance per
(environment, service) with `numReplicas`, `region` and a `multiRegionConfig`
(updated by `serviceInstanceUpdate`, `null` removing a region, as the dashboard
does); deployments with a status, instances, deploy and build logs and a
manifest snapshot in `meta` (`serviceManifest.deploy`), as Railway's CLI reads
it. `deploymentRedeploy` creates a deployment that follows `redeploy_plan`, one
step per read of it; when one reaches SUCCESS, the instance's older deployments
become REMOVED. Tests script an existing deployment with `script()`.

Auth, as Railway: `Project-Access-Token` must be a project token (it sees its
own project and environment only), `Authorization: Bearer` an account token;
anything else is the GraphQL error "Not Authorized". Faults, counted down per
request before anything else: `answer(times, status, headers)` (429 with
Retry-After, 500, 401, 403), `slow(seconds, times)`, `echo_token_in_errors`.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode, build_client_schema, graphql_sync, parse, validate
from graphql.error import GraphQLError
from graphql.execution.values import get_variable_values

from tests.fakes.loopback import LoopbackServer, send

SCHEMA_ENV = "DRAGONFLY_RAILWAY_SCHEMA"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "railway" / "schema.json"


@cache
def railway_schema() -> GraphQLSchema:
    path = Path(os.environ.get(SCHEMA_ENV) or SCHEMA_PATH)
    if not path.is_file():
        raise FileNotFoundError(f"Railway's schema is not at {path}: the fake validates every document "
                                f"against it (set {SCHEMA_ENV} to its path)")
    # assume_valid: Railway's schema breaks one of graphql-core's rules about deprecated
    # interface fields (see the reference README).
    return build_client_schema(json.loads(path.read_text())["data"], assume_valid=True)


def document_errors(document: str, variables: dict[str, Any] | None = None) -> list[str]:
    """Why `document` (with `variables`) is not a valid request to Railway; [] when it is."""
    schema = railway_schema()
    try:
        ast = parse(document)
    except GraphQLError as exc:
        return [exc.message]
    errors = [e.message for e in validate(schema, ast)]
    if errors:
        return errors
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return [f"expected one operation, found {len(operations)}"]
    coerced = get_variable_values(schema, operations[0].variable_definitions or (), variables or {})
    return [e.message for e in coerced] if isinstance(coerced, list) else []


def stamp() -> str:
    """Now, as Railway writes log timestamps (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if "." in text:  # at most microseconds for fromisoformat
        head, rest = text.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    return datetime.fromisoformat(text)


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Step:
    """What a deployment becomes at its next read."""

    status: str
    logs: list[str] = field(default_factory=list)
    build_logs: list[str] = field(default_factory=list)
    instances: str | None = None  # "RESTARTING", "CRASHED", "REPLACED": what befalls the first instance
    then: Callable[[FakeRailway], None] | None = None  # something else that happens meanwhile


@dataclass
class FakeDeployment:
    id: str
    service_id: str
    environment_id: str
    project_id: str
    status: str
    meta: dict[str, Any]
    created_at: str = field(default_factory=stamp)
    instances: list[dict[str, str]] = field(default_factory=list)
    logs: list[dict[str, str]] = field(default_factory=list)
    build_logs: list[dict[str, str]] = field(default_factory=list)
    plan: list[Step] = field(default_factory=list)
    reads: int = 0

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "canRedeploy": self.status not in ("REMOVED",),
                "createdAt": self.created_at, "meta": self.meta, "instances": self.instances,
                "projectId": self.project_id, "environmentId": self.environment_id,
                "serviceId": self.service_id}

    def log(self, *messages: str, build: bool = False, severity: str = "info") -> None:
        target = self.build_logs if build else self.logs
        target.extend({"timestamp": stamp(), "message": m, "severity": severity, "attributes": []}
                      for m in messages)


@dataclass
class FakeInstance:
    service_id: str
    environment_id: str
    num_replicas: int | None
    region: str | None
    multi_region_config: dict[str, Any] | None
    railway_config_file: str | None = None
    root_directory: str | None = None

    def manifest(self) -> dict[str, Any]:
        deploy: dict[str, Any] = {"numReplicas": self.num_replicas, "region": self.region}
        if self.multi_region_config is not None:
            deploy["multiRegionConfig"] = json.loads(json.dumps(self.multi_region_config))
        return {"serviceManifest": {"deploy": deploy}}

    def running(self) -> int:
        if self.multi_region_config is not None:
            return sum((v or {}).get("numReplicas") or 0 for v in self.multi_region_config.values())
        return 1 if self.num_replicas is None else self.num_replicas

    def replicas(self) -> dict[str, int]:
        """What tests assert: replicas by region as configured now."""
        if self.multi_region_config is not None:
            return {r: v["numReplicas"] for r, v in self.multi_region_config.items() if v}
        return {self.region or "default": self.running()}


@dataclass(frozen=True)
class SeenRequest:
    headers: dict[str, str]
    document: str
    variables: dict[str, Any]


class _Refused(Exception):
    pass


class FakeRailway(LoopbackServer):
    def __init__(self) -> None:
        self.projects: dict[str, dict[str, Any]] = {}
        self.project_tokens: dict[str, tuple[str, str]] = {}  # token -> (project id, environment id)
        self.account_tokens: set[str] = set()
        self.instances: dict[tuple[str, str], FakeInstance] = {}  # (environment id, service id)
        self.deployments: dict[str, FakeDeployment] = {}
        self.redeploy_plan: list[Step] = [Step("DEPLOYING"), Step("SUCCESS", logs=["worker started"])]
        self.requests: list[SeenRequest] = []
        self.invalid: list[tuple[str, list[str]]] = []  # (document, why)
        self.mutations: list[tuple[str, dict[str, Any]]] = []  # (field, arguments), in order
        self.echo_token_in_errors = False
        # Mutation fields answered "Not Authorized"; "serviceInstanceUpdate:<service id>": one service's.
        self.refused: set[str] = set()
        self._faults: list[tuple[int, dict[str, str]]] = []
        self._delay = 0.0
        self._slow_left: int | None = None
        self._lock = threading.Lock()
        super().__init__()

    # -- setting up ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql/v2"

    def add_project(self, name: str, environments: list[str], services: list[str]) -> dict[str, Any]:
        project = {"id": _id(), "name": name,
                   "environments": {e: _id() for e in environments},
                   "services": {s: _id() for s in services}}
        self.projects[project["id"]] = project
        return project

    def add_instance(self, project: dict[str, Any], environment: str, service: str, *,
                     replicas: int | None = 1, region: str | None = "us-west2",
                     regions: dict[str, int] | None = None, config_file: str | None = None,
                     root_directory: str | None = None, deployed: bool = True) -> FakeInstance:
        env_id, service_id = project["environments"][environment], project["services"][service]
        instance = FakeInstance(service_id, env_id, replicas, region,
                                {r: {"numReplicas": n} for r, n in regions.items()} if regions else None,
                                config_file, root_directory)
        self.instances[(env_id, service_id)] = instance
        if deployed:
            deployment = self._deploy(project["id"], instance, "SUCCESS")
            deployment.log("worker started")
        return instance

    def instance(self, project: dict[str, Any], environment: str, service: str) -> FakeInstance:
        return self.instances[(project["environments"][environment], project["services"][service])]

    def latest(self, project: dict[str, Any], environment: str, service: str) -> FakeDeployment:
        return self._latest(project["environments"][environment], project["services"][service])

    def script(self, deployment: FakeDeployment, steps: list[Step]) -> None:
        deployment.plan = list(steps)

    def answer(self, times: int, status: int, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._faults += [(status, headers or {})] * times

    def slow(self, seconds: float, times: int | None = None) -> None:
        """Answer the next `times` requests (None: all) `seconds` late."""
        self._delay, self._slow_left = seconds, times

    # -- the state machine -----------------------------------------------------------

    def deploy(self, project: dict[str, Any], environment: str, service: str, status: str = "SUCCESS",
               logs: tuple[str, ...] = ()) -> FakeDeployment:
        """A new deployment of the service, as a push to its branch would make."""
        deployment = self._deploy(project["id"], self.instance(project, environment, service), status)
        deployment.log(*logs)
        return deployment

    def _deploy(self, project_id: str, instance: FakeInstance, status: str,
                plan: list[Step] | None = None) -> FakeDeployment:
        deployment = FakeDeployment(_id(), instance.service_id, instance.environment_id, project_id, status,
                                    instance.manifest(), plan=list(plan or []))
        if status == "SUCCESS":
            self._running(deployment)
        self.deployments[deployment.id] = deployment
        return deployment

    def _running(self, deployment: FakeDeployment) -> None:
        deploy = deployment.meta["serviceManifest"]["deploy"]
        if "multiRegionConfig" in deploy:
            count = sum((v or {}).get("numReplicas") or 0 for v in deploy["multiRegionConfig"].values())
        else:
            count = 1 if deploy["numReplicas"] is None else deploy["numReplicas"]
        deployment.instances = [{"id": _id(), "status": "RUNNING"} for _ in range(count)]
        mine = (deployment.service_id, deployment.environment_id)
        for other in self.deployments.values():
            if (other.service_id, other.environment_id) == mine and other.id != deployment.id \
                    and other.status == "SUCCESS":
                other.status, other.instances = "REMOVED", []

    def _latest(self, environment_id: str, service_id: str) -> FakeDeployment:
        mine = [d for d in self.deployments.values()
                if (d.environment_id, d.service_id) == (environment_id, service_id)]
        return mine[-1]

    def _advance(self, deployment: FakeDeployment) -> None:
        deployment.reads += 1
        if not deployment.plan:
            return
        step = deployment.plan.pop(0)
        deployment.log(*step.build_logs, build=True)
        deployment.log(*step.logs)
        if step.status != deployment.status:
            deployment.status = step.status
            if step.status == "SUCCESS":
                self._running(deployment)
            elif step.status in ("CRASHED", "FAILED", "REMOVED"):
                deployment.instances = [{**i, "status": "CRASHED" if step.status == "CRASHED" else "REMOVED"}
                                        for i in deployment.instances]
        if step.then is not None:
            step.then(self)
        if step.instances and deployment.instances:
            first = deployment.instances[0]
            if step.instances == "REPLACED":
                deployment.instances[0] = {"id": _id(), "status": "RUNNING"}
            else:
                deployment.instances[0] = {**first, "status": step.instances}

    # -- one request ---------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        document = request.get("query") if isinstance(request, dict) else None
        variables = request.get("variables") if isinstance(request, dict) else None
        with self._lock:
            self.requests.append(SeenRequest(headers, str(document), variables or {}))
            fault = self._faults.pop(0) if self._faults else None
            delay = self._delay if self._slow_left is None or self._slow_left > 0 else 0.0
            if self._slow_left:
                self._slow_left -= 1
        if delay:
            self._stopping.wait(delay)
        if fault is not None:
            status, extra = fault
            return send(handler, status, {"errors": [{"message": f"fault {status}"}]}, extra)
        if handler.command != "POST" or not isinstance(document, str):
            return send(handler, 400, {"errors": [{"message": "POST a JSON body with a query"}]})
        why = document_errors(document, variables if isinstance(variables, dict) else None)
        if why:
            with self._lock:
                self.invalid.append((document, why))
            return send(handler, 400, {"errors": [{"message": m} for m in why]})
        token = headers.get("project-access-token")
        bearer = headers.get("authorization", "")
        auth: tuple[str, Any]
        if token is not None:
            auth = ("project", self.project_tokens.get(token))
        elif bearer.startswith("Bearer "):
            token = bearer.removeprefix("Bearer ")
            auth = ("account", token in self.account_tokens)
        else:
            auth = ("none", None)
        with self._lock:
            result = graphql_sync(railway_schema(), document, root_value=_Root(self, auth),
                                  variable_values=variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [{"message": e.message + (f" (token {token})" if self.echo_token_in_errors
                                                          else ""), "path": e.path} for e in result.errors]
        send(handler, 200, answer)


class _Root:
    """Query and mutation fields, resolved by graphql-core's default resolver (methods by
    field name, called with the field's arguments)."""

    def __init__(self, fake: FakeRailway, auth: tuple[str, Any]) -> None:
        self.fake = fake
        self.kind, self.grant = auth

    def _allow(self, project_id: str, environment_id: str | None = None) -> None:
        if self.kind == "account" and self.grant:
            return
        if self.kind == "project" and self.grant and self.grant[0] == project_id and (
                environment_id is None or environment_id == self.grant[1]):
            return
        raise _Refused("Not Authorized")

    def _project_of(self, environment_id: str) -> str:
        for project in self.fake.projects.values():
            if environment_id in project["environments"].values():
                return project["id"]
        raise _Refused("Environment not found")

    # -- queries --

    def projectToken(self, info: Any) -> dict[str, Any]:  # noqa: N802 - the schema's field name
        if self.kind != "project" or not self.grant:
            raise _Refused("Not Authorized")
        return {"projectId": self.grant[0], "environmentId": self.grant[1]}

    def projects(self, info: Any, **_: Any) -> dict[str, Any]:
        if not (self.kind == "account" and self.grant):
            raise _Refused("Not Authorized")
        return {"edges": [{"node": {"id": p["id"], "name": p["name"]}} for p in self.fake.projects.values()]}

    def project(self, info: Any, id: str) -> dict[str, Any]:  # noqa: A002 - the schema's argument
        project = self.fake.projects.get(id)
        if project is None:
            if self.kind == "none" or not self.grant:
                raise _Refused("Not Authorized")
            raise _Refused("Project not found")
        self._allow(id)
        return {"id": id, "name": project["name"],
                "environments": {"edges": [{"node": {"id": i, "name": n}}
                                           for n, i in project["environments"].items()]},
                "services": {"edges": [{"node": {"id": i, "name": n}}
                                       for n, i in project["services"].items()]}}

    def serviceInstance(self, info: Any, serviceId: str, environmentId: str) -> dict[str, Any]:  # noqa: N802, N803
        self._allow(self._project_of(environmentId), environmentId)
        instance = self.fake.instances.get((environmentId, serviceId))
        if instance is None:
            raise _Refused("ServiceInstance not found")
        mine = [d for d in self.fake.deployments.values()
                if (d.environment_id, d.service_id) == (environmentId, serviceId)]
        return {"id": f"{environmentId}:{serviceId}", "numReplicas": instance.num_replicas,
                "region": instance.region, "railwayConfigFile": instance.railway_config_file,
                "rootDirectory": instance.root_directory,
                "latestDeployment": mine[-1].view() if mine else None}

    def deployment(self, info: Any, id: str) -> dict[str, Any]:  # noqa: A002
        deployment = self._deployment(id)
        self.fake._advance(deployment)
        return deployment.view()

    def deploymentLogs(self, info: Any, deploymentId: str, startDate: str | None = None,  # noqa: N802, N803
                       limit: int | None = None, **_: Any) -> list[dict[str, Any]]:
        return self._logs(self._deployment(deploymentId).logs, startDate, limit)

    def buildLogs(self, info: Any, deploymentId: str, startDate: str | None = None,  # noqa: N802, N803
                  limit: int | None = None, **_: Any) -> list[dict[str, Any]]:
        return self._logs(self._deployment(deploymentId).build_logs, startDate, limit)

    def _deployment(self, id: str) -> FakeDeployment:  # noqa: A002
        deployment = self.fake.deployments.get(id)
        if deployment is None:
            raise _Refused("Deployment not found")
        self._allow(deployment.project_id, deployment.environment_id)
        return deployment

    @staticmethod
    def _logs(logs: list[dict[str, Any]], start: str | None, limit: int | None) -> list[dict[str, Any]]:
        if start:
            since = _instant(start)
            logs = [entry for entry in logs if _instant(entry["timestamp"]) >= since]
        return logs[-limit:] if limit else logs

    # -- mutations --

    def serviceInstanceUpdate(self, info: Any, serviceId: str, input: dict[str, Any],  # noqa: N802, N803, A002
                              environmentId: str | None = None) -> bool:
        assert environmentId is not None, "the toolkit always names the environment"
        self._allow(self._project_of(environmentId), environmentId)
        instance = self.fake.instances.get((environmentId, serviceId))
        if instance is None:
            raise _Refused("ServiceInstance not found")
        if {"serviceInstanceUpdate", f"serviceInstanceUpdate:{serviceId}"} & self.fake.refused:
            raise _Refused("Not Authorized")
        self.fake.mutations.append(("serviceInstanceUpdate", {"serviceId": serviceId, "input": input}))
        if "numReplicas" in input:
            instance.num_replicas = input["numReplicas"]
            if instance.multi_region_config and len(instance.multi_region_config) == 1:
                (region,) = instance.multi_region_config
                instance.multi_region_config[region] = {"numReplicas": input["numReplicas"]}
        if "multiRegionConfig" in input:
            config = dict(instance.multi_region_config or {})
            for region, value in (input["multiRegionConfig"] or {}).items():
                if value is None:
                    config.pop(region, None)
                else:
                    config[region] = value
            instance.multi_region_config = config
            instance.num_replicas = instance.running()
        return True

    def deploymentRedeploy(self, info: Any, id: str, **_: Any) -> dict[str, Any]:  # noqa: N802, A002
        old = self._deployment(id)
        if "deploymentRedeploy" in self.fake.refused:
            raise _Refused("Not Authorized")
        self.fake.mutations.append(("deploymentRedeploy", {"id": id}))
        instance = self.fake.instances[(old.environment_id, old.service_id)]
        plan = list(self.fake.redeploy_plan)
        new = self.fake._deploy(old.project_id, instance, "INITIALIZING", plan)
        return new.view()


@contextmanager
def running() -> Iterator[FakeRailway]:
    fake = FakeRailway().start()
    try:
        yield fake
    finally:
        fake.stop()
