"""Every GraphQL document the toolkit sends to Railway, in one place.

Field and argument names are Railway's public schema's (the tests validate each
document against it). Replicas are read as the Railway CLI reads them: the
service instance's `numReplicas` and `region`, and the per-region
`multiRegionConfig` of its latest deployment's manifest (`meta`).
"""

from __future__ import annotations

PROJECT_TOKEN = """
query ProjectToken {
  projectToken { projectId environmentId }
}
"""

PROJECTS = """
query Projects {
  projects { edges { node { id name } } }
}
"""

PROJECT = """
query Project($id: String!) {
  project(id: $id) {
    id
    name
    environments { edges { node { id name } } }
    services { edges { node { id name } } }
  }
}
"""

SERVICE_INSTANCE = """
query ServiceInstance($serviceId: String!, $environmentId: String!) {
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
    id
    numReplicas
    region
    railwayConfigFile
    rootDirectory
    latestDeployment { id status canRedeploy createdAt meta }
  }
}
"""

SERVICE_INSTANCE_UPDATE = """
mutation ServiceInstanceUpdate($serviceId: String!, $environmentId: String!,
                               $input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
}
"""

DEPLOYMENT_REDEPLOY = """
mutation DeploymentRedeploy($id: String!) {
  deploymentRedeploy(id: $id) { id status createdAt }
}
"""

DEPLOYMENT = """
query Deployment($id: String!) {
  deployment(id: $id) { id status }
}
"""

LAST_LINES = """
query LastLines($id: String!, $limit: Int!) {
  buildLogs(deploymentId: $id, limit: $limit) { timestamp message severity }
  deploymentLogs(deploymentId: $id, limit: $limit) { timestamp message severity }
}
"""

# One request per service per poll: plan rate limits are counted per request.
WATCH = """
query Watch($deploymentId: String!, $serviceId: String!, $environmentId: String!,
            $since: DateTime!, $limit: Int!) {
  deployment(id: $deploymentId) { id status instances { id status } }
  deploymentLogs(deploymentId: $deploymentId, startDate: $since, limit: $limit) {
    timestamp message severity
  }
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
    latestDeployment { id status }
  }
}
"""

ALL = {
    "ProjectToken": PROJECT_TOKEN,
    "Projects": PROJECTS,
    "Project": PROJECT,
    "ServiceInstance": SERVICE_INSTANCE,
    "ServiceInstanceUpdate": SERVICE_INSTANCE_UPDATE,
    "DeploymentRedeploy": DEPLOYMENT_REDEPLOY,
    "Deployment": DEPLOYMENT,
    "LastLines": LAST_LINES,
    "Watch": WATCH,
}
