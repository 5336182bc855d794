"""`dragonfly-ci railway`: scale, restore, redeploy and watch worker services.

Each command returns a GateResult; none prints. Long waits report progress
through a callback the CLI gives. What changes Railway is done only after what
it replaces is recorded: `scale` writes the state file, and hands the step
outputs (`state`, `replicas`, `state-file`) to `on_recorded`, before its first
mutation, so a failure anywhere after that still leaves `restore` what it needs.

A replica change is applied, as Railway applies one made in the dashboard, by
redeploying the service's latest deployment (`deploymentRedeploy`: the same
image, the new settings), never by deploying a newer commit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from re import Pattern
from typing import Any

from dragonfly_ci.config import Project
from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.findings import Finding, GateResult, Location
from dragonfly_ci.railway import documents
from dragonfly_ci.railway import state as state_file
from dragonfly_ci.railway.client import Client
from dragonfly_ci.railway.config_as_code import candidates, replicas_setting
from dragonfly_ci.railway.project import Deployment, Instance, Named, Scope, Service, read_instance
from dragonfly_ci.railway.replicas import change_to, restore_to
from dragonfly_ci.report._words import plural
from dragonfly_ci.rules import apply_overrides, finding

Progress = Callable[[str], None]

SUCCEEDED = ("SUCCESS", "SLEEPING")
ENDED_BADLY = ("FAILED", "CRASHED", "REMOVED", "REMOVING", "SKIPPED")
INSTANCE_TROUBLE = ("CRASHED", "RESTARTING", "EXITED")
LAST_LINES = 20
LOG_LIMIT = 500


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Run:
    """What every command works with: the API client, the resolved names, the project file."""

    client: Client
    scope: Scope
    project: Project

    def facts(self) -> dict[str, str]:
        return {"Railway": f"project {self.scope.project.name}, environment {self.scope.environment.name}"}

    def read(self) -> list[Instance]:
        return [read_instance(self.client, self.scope.environment, s) for s in self.scope.services]


# -- scale -------------------------------------------------------------------------


def scale(run: Run, *, replicas: int | None, by_region: dict[str, int], dry_run: bool,
          redeploy: bool, state_path: Path, state_display: str,
          on_recorded: Callable[[dict[str, str]], None] = lambda outputs: None) -> GateResult:
    started = time.perf_counter()
    result = GateResult("railway scale", facts=run.facts())
    instances = run.read()  # everything is read before anything changes
    plans = [(i, change_to(i.replicas, replicas, by_region)) for i in instances]
    for instance in instances:
        result.findings += _config_warnings(run, instance)

    if dry_run:
        for instance, plan in plans:
            now = f"now {instance.replicas.describe()}"
            result.facts[instance.service.name] = f"{now}; nothing to change" if plan is None else (
                f"{now}; would set {plan[1].describe()}" + ("" if redeploy else " (without redeploying)"))
        result.facts["dry run"] = "nothing changed, nothing recorded"
        return _done(result, run.project, started)

    state = state_file.load(state_path, state_display)
    when = state_file.now()
    standing, kept = {}, set()
    for instance in instances:
        record = state_file.Record(run.scope.project.id, run.scope.environment.id,
                                   run.scope.environment.name, instance.service.id, instance.service.name,
                                   instance.replicas, when)
        standing[instance.service.name] = state.record(record)
        if standing[instance.service.name] is not record:
            kept.add(instance.service.name)
    state_file.save(state_path, state)
    on_recorded({
        "state": state.to_json(),
        "replicas": json.dumps({name: r.replicas.per_region() for name, r in standing.items()},
                               separators=(",", ":")),
        "state-file": state_display,
    })

    for instance, plan in plans:
        name = instance.service.name
        note = (f"; the state keeps {standing[name].replicas.describe()}, recorded "
                f"{standing[name].recorded_at} and not restored yet" if name in kept else "")
        if plan is None:
            result.facts[name] = f"already {instance.replicas.describe()}; nothing to change{note}"
            continue
        update, after = plan
        _update(run.client, run.scope.environment, instance.service, update)
        applied = _apply(run.client, instance, redeploy)
        result.facts[name] = f"{instance.replicas.describe()} -> {after.describe()}; {applied}{note}"
    result.facts["state"] = f"{state_display} (`railway restore` puts back what it records)"
    return _done(result, run.project, started, run.client)


def _config_warnings(run: Run, instance: Instance) -> list[Finding]:
    service = instance.service
    project = run.project
    files = candidates(project.repo_root, service.config_file, instance.railway_config_file,
                       instance.root_directory)
    setting = replicas_setting(files, run.scope.environment.name, required=service.config_file is not None,
                               display=project.display(files[0]))
    if setting is None:
        return []
    return [finding(
        "railway/config-sets-replicas",
        f"{project.display(setting.file)} sets {', '.join(setting.keys)} for service {service.name!r}: "
        "Railway applies it at the service's next deploy, which undoes this scale",
        location=Location(project.display(setting.file), setting.line), subject=service.name,
        hint="remove replicas from the config file and manage them with `dragonfly-ci railway scale`, "
        "or scale by changing the file")]


def _update(client: Client, environment: Named, service: Service, update: dict[str, Any]) -> None:
    client.query(documents.SERVICE_INSTANCE_UPDATE,
                 {"serviceId": service.id, "environmentId": environment.id, "input": update},
                 doing=f"setting the replicas of service {service.name!r}")


def _apply(client: Client, instance: Instance, redeploy: bool) -> str:
    """Redeploy the latest deployment so the change takes effect; say what happened."""
    if not redeploy:
        return "applies at the service's next deploy (--no-redeploy)"
    latest = instance.latest
    if latest is None:
        return "applies at the service's first deploy (it has none yet)"
    if not latest.can_redeploy:
        return f"applies at the service's next deploy (deployment {latest.id} cannot be redeployed)"
    new = _redeploy(client, instance.service, latest)
    return f"applied by redeploying deployment {latest.id} as {new.id}"


def _redeploy(client: Client, service: Service, latest: Deployment) -> Deployment:
    found = client.query(documents.DEPLOYMENT_REDEPLOY, {"id": latest.id},
                         doing=f"redeploying service {service.name!r}")["deploymentRedeploy"]
    return Deployment(found["id"], found["status"])


# -- restore -----------------------------------------------------------------------


def restore(client: Client, state: state_file.State, *, dry_run: bool, redeploy: bool,
            state_path: Path | None, state_display: str) -> GateResult:
    """Put back every record not yet restored; a service already as recorded is left alone."""
    started = time.perf_counter()
    result = GateResult("railway restore", facts={"state": state_display})
    pending = [r for r in state.records if r.restored_at is None]
    if not pending:
        done = [r for r in state.records if r.restored_at]
        result.facts["restored"] = (
            "nothing was frozen: nothing to restore" if not done else
            "already restored: " + ", ".join(f"{r.service} at {r.restored_at}" for r in done))
        return _done(result, None, started)
    when = state_file.now()
    for record in pending:
        service = Service(record.service_id, record.service)
        environment = Named(record.environment_id, record.environment)
        label = f"{record.service} ({record.environment})"
        try:
            instance = read_instance(client, environment, service)
            plan = restore_to(instance.replicas, record.replicas)
            if plan is None:
                result.facts[label] = f"already {record.replicas.describe()}, as recorded; nothing to change"
            elif dry_run:
                result.facts[label] = (f"now {instance.replicas.describe()}; would put back "
                                       f"{record.replicas.describe()}")
            else:
                _update(client, environment, service, plan[0])
                applied = _apply(client, instance, redeploy)
                result.facts[label] = (
                    f"{instance.replicas.describe()} -> {record.replicas.describe()}; {applied}")
        except CouldNotCheck as exc:
            result.could_not_check = True
            result.facts[label] = f"COULD NOT RESTORE: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
            continue
        if not dry_run:
            state.mark_restored(record.key, when)
    if dry_run:
        result.facts["dry run"] = "nothing changed"
    elif state_path is not None:
        state_file.save(state_path, state)
    return _done(result, None, started, client)


# -- redeploy ----------------------------------------------------------------------


def redeploy(run: Run, *, wait: bool, timeout: float, poll_seconds: float, dry_run: bool,
             progress: Progress = _quiet, sleep: Callable[[float], None] = time.sleep) -> GateResult:
    started = time.perf_counter()
    result = GateResult("railway redeploy", facts=run.facts())
    waiting: dict[Service, Deployment] = {}
    for instance in run.read():
        service, latest = instance.service, instance.latest
        if latest is None or not latest.can_redeploy:
            result.findings.append(_no_deployment(service, latest))
            continue
        if dry_run:
            result.facts[service.name] = f"would redeploy deployment {latest.id} ({latest.status})"
            continue
        new = _redeploy(run.client, service, latest)
        progress(f"{service.name}: redeployed deployment {latest.id} as {new.id}")
        result.facts[service.name] = f"redeployed deployment {latest.id} as {new.id}"
        waiting[service] = new
    if dry_run:
        result.facts["dry run"] = "nothing changed"
    elif wait and waiting:
        _wait(run.client, waiting, result, timeout=timeout, poll_seconds=poll_seconds, progress=progress,
              sleep=sleep)
    return _done(result, run.project, started, run.client)


def _wait(client: Client, waiting: dict[Service, Deployment], result: GateResult, *, timeout: float,
          poll_seconds: float, progress: Progress, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + timeout
    began = time.monotonic()
    last = {service: deployment.status for service, deployment in waiting.items()}
    while waiting:
        for service, deployment in list(waiting.items()):
            status = client.query(documents.DEPLOYMENT, {"id": deployment.id},
                                  doing=f"reading deployment {deployment.id} of {service.name!r}"
                                  )["deployment"]["status"]
            if status != last[service]:
                progress(f"{service.name}: deployment {deployment.id} is {status}")
                last[service] = status
            took = f"{time.monotonic() - began:.0f} s"
            if status in SUCCEEDED:
                result.facts[service.name] += f"; {status} after {took}"
                del waiting[service]
            elif status in ENDED_BADLY:
                rule = "railway/deployment-crashed" if status == "CRASHED" else "railway/deployment-failed"
                result.findings.append(finding(
                    rule, f"service {service.name!r}: deployment {deployment.id} is {status} after {took}"
                    + _last_lines(client, service, deployment), subject=service.name,
                    hint="read the lines above and the deployment's logs in Railway; `railway restore` "
                    "or a redeploy of the previous deployment brings the workers back"))
                result.facts[service.name] += f"; {status} after {took}"
                del waiting[service]
        remaining = deadline - time.monotonic()
        if waiting and remaining <= 0:
            for service, deployment in waiting.items():
                result.findings.append(finding(
                    "railway/deployment-timeout",
                    f"service {service.name!r}: deployment {deployment.id} is still {last[service]} after "
                    f"{timeout:g} s" + _last_lines(client, service, deployment), subject=service.name,
                    hint="raise --timeout (railway.redeploy.timeout) if deploys take longer, or look at "
                    "the deployment in Railway"))
                result.facts[service.name] += f"; still {last[service]} after {timeout:g} s"
            return
        if waiting:
            sleep(min(poll_seconds, remaining))


def _last_lines(client: Client, service: Service, deployment: Deployment) -> str:
    """The deployment's last log lines (and build log lines), for the report."""
    try:
        found = client.query(documents.LAST_LINES, {"id": deployment.id, "limit": LAST_LINES},
                             doing=f"reading the logs of deployment {deployment.id}")
    except CouldNotCheck as exc:
        return f"\n(its logs could not be read: {exc.message})"
    text = ""
    for title, key in (("build log", "buildLogs"), ("deploy log", "deploymentLogs")):
        lines = [_line(client, entry) for entry in (found.get(key) or [])][-LAST_LINES:]
        if lines:
            text += f"\nlast {len(lines)} lines of its {title}:\n" + "\n".join(lines)
    return text or "\n(its logs are empty)"


def _line(client: Client, entry: dict[str, Any]) -> str:
    return client.scrub(f"{entry.get('timestamp', '')} {entry.get('message', '')}".strip())


def _no_deployment(service: Service, latest: Deployment | None) -> Finding:
    why = ("has no deployment" if latest is None
           else f"cannot redeploy deployment {latest.id} ({latest.status})")
    return finding("railway/no-deployment", f"service {service.name!r} {why}", subject=service.name,
                   hint="deploy the service once from Railway (or `railway up`) first")


# -- watch -------------------------------------------------------------------------


@dataclass
class _Watched:
    service: Service
    deployment: Deployment
    since: str  # logs are read from here on: the watch's start, then the newest line read
    statuses: list[str] = field(default_factory=list)
    instances: dict[str, str] = field(default_factory=dict)  # id -> last status
    seen: set[tuple[str, str]] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)  # the last LAST_LINES, for reports
    line_count: int = 0
    error_lines: list[str] = field(default_factory=list)
    failed: bool = False

    def note_status(self, status: str) -> bool:
        if not self.statuses or self.statuses[-1] != status:
            self.statuses.append(status)
            return True
        return False

    def tail(self) -> str:
        if not self.lines:
            return "\n(no log lines since the watch began)"
        return f"\nlast {len(self.lines)} log lines:\n" + "\n".join(self.lines)


def watch(run: Run, *, minutes: float, poll_seconds: float, patterns: tuple[Pattern[str], ...],
          max_error_lines: int, dry_run: bool, progress: Progress = _quiet,
          sleep: Callable[[float], None] = time.sleep) -> GateResult:
    started = time.perf_counter()
    result = GateResult("railway watch", facts=run.facts())
    began = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    watched = []
    for instance in run.read():
        if instance.latest is None:
            result.findings.append(_no_deployment(instance.service, None))
        else:
            watched.append(_Watched(instance.service, instance.latest, began))
    describe = (f"{minutes:g} min, polling every {poll_seconds:g} s; an error line matches "
                f"{' or '.join(p.pattern for p in patterns)}; more than {max_error_lines} fail")
    result.facts["watch"] = describe
    if dry_run:
        for w in watched:
            result.facts[w.service.name] = f"would watch deployment {w.deployment.id} ({w.deployment.status})"
        result.facts["dry run"] = "nothing watched"
        return _done(result, run.project, started)

    for w in watched:
        progress(f"watching {w.service.name} (deployment {w.deployment.id}) for {minutes:g} min")
    deadline = time.monotonic() + minutes * 60
    polls = 0
    while True:
        polls += 1
        for w in watched:
            if not w.failed:
                _poll(run, w, patterns, max_error_lines, result, progress)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or all(w.failed for w in watched):
            break
        sleep(min(poll_seconds, remaining))

    elapsed = time.perf_counter() - started
    for w in watched:
        shown = "; ".join(w.error_lines[:5])
        result.facts[w.service.name] = (
            f"deployment {w.deployment.id}: {' -> '.join(w.statuses) or 'unread'}; "
            f"{plural(len(w.instances), 'instance')} running; {plural(w.line_count, 'log line')}, "
            f"{len(w.error_lines)} matching the error patterns" + (f" (first: {shown})" if shown else ""))
    result.facts["watched"] = f"{elapsed / 60:.1f} min, {polls} polls"
    return _done(result, run.project, started, run.client)


def _poll(run: Run, w: _Watched, patterns: tuple[Pattern[str], ...], max_error_lines: int,
          result: GateResult, progress: Progress) -> None:
    found = run.client.query(documents.WATCH, {
        "deploymentId": w.deployment.id, "serviceId": w.service.id,
        "environmentId": run.scope.environment.id, "since": w.since, "limit": LOG_LIMIT,
    }, doing=f"watching service {w.service.name!r}")
    name = w.service.name
    for entry in found.get("deploymentLogs") or []:
        key = (str(entry.get("timestamp", "")), str(entry.get("message", "")))
        if key in w.seen:  # the lines at `since` itself come again
            continue
        w.seen.add(key)
        w.since = key[0] or w.since
        w.line_count += 1
        line = _line(run.client, entry)
        w.lines = [*w.lines[-(LAST_LINES - 1):], line]
        if any(p.search(key[1]) for p in patterns):
            w.error_lines.append(line)
            progress(f"{name}: error line: {line}")

    latest = (found.get("serviceInstance") or {}).get("latestDeployment") or {}
    deployment = found["deployment"]
    status = deployment["status"]
    if latest.get("id") and latest["id"] != w.deployment.id and status not in SUCCEEDED:
        result.findings.append(finding(
            "railway/deployment-replaced",
            f"service {name!r}: deployment {w.deployment.id} ({status}) was replaced by {latest['id']} "
            "during the watch; watching the new one", subject=name,
            hint="someone or something deployed the service while it was watched; check who"))
        w.deployment, w.instances = Deployment(latest["id"], latest.get("status", "")), {}
        progress(f"{name}: now watching deployment {latest['id']}")
        return
    if w.note_status(status) and len(w.statuses) > 1:
        progress(f"{name}: deployment {w.deployment.id} is {status}")
    if status in ENDED_BADLY:
        rule = "railway/deployment-crashed" if status == "CRASHED" else "railway/deployment-failed"
        result.findings.append(finding(rule, f"service {name!r}: deployment {w.deployment.id} is {status} "
                                       "during the watch" + w.tail(), subject=name,
                                       hint="read the lines above; `railway restore` or a redeploy of the "
                                       "previous deployment brings the workers back"))
        w.failed = True
        return

    instances = {i["id"]: i["status"] for i in deployment.get("instances") or []}
    troubled = [f"instance {i} is {s}" for i, s in instances.items()
                if s in INSTANCE_TROUBLE and w.instances.get(i) != s]
    gone = [i for i, s in w.instances.items() if s == "RUNNING" and i not in instances]
    if gone and set(instances) - set(w.instances):
        troubled += [f"instance {i} was replaced" for i in gone]
    w.instances = instances
    if troubled:
        result.findings.append(finding(
            "railway/deployment-restarted", f"service {name!r}: deployment {w.deployment.id} restarted "
            f"during the watch: {'; '.join(troubled)}" + w.tail(), subject=name,
            hint="a worker that restarts is crashing; read the lines above and its logs in Railway"))
        w.failed = True
        return
    if len(w.error_lines) > max_error_lines:
        result.findings.append(finding(
            "railway/error-lines",
            f"service {name!r}: {plural(len(w.error_lines), 'log line')} match the error patterns (more than "
            f"{max_error_lines}):\n" + "\n".join(w.error_lines[:LAST_LINES]), subject=name,
            hint="fix what the lines say, or tune railway.watch.error_patterns and max_error_lines"))
        w.failed = True


def _done(result: GateResult, project: Project | None, started: float,
          client: Client | None = None) -> GateResult:
    if client is not None:
        result.facts["API requests"] = str(client.requests)
    if project is not None:
        result.findings = apply_overrides(result.findings, project.rules)
    result.duration_s = time.perf_counter() - started
    return result

