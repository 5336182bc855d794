"""Smoke steps: the project's critical paths, run end to end against a live environment.

- `steps`: the `smoke:` section of the project file as typed steps, and what they expect
- `sql`: SQL steps, in order, in one transaction that is always rolled back
- `probes`: HTTP (PostgREST, health URLs) and TCP steps, with timeouts and bounded retries

The gate that joins them is `dragonfly_ci.gates.smoke`.
"""
