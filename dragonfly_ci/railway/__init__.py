"""Railway, through its public GraphQL API: the workers around a release.

- `client`: the GraphQL client (tokens, retries, errors that name what failed)
- `documents`: every query and mutation the toolkit sends, checked against
  Railway's schema in the tests
- `project`: names resolved to ids once per run; a service instance as read now
- `replicas`: a service's replicas (per region) and the update that changes them
- `state`: the state file that lets `restore` put back what `scale` changed
- `config_as_code`: replicas set in a service's railway.json / railway.toml

The commands themselves are gates: `dragonfly_ci.gates.railway`.
"""
