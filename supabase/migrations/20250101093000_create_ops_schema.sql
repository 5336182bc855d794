-- The `ops` schema: the background-job machinery that the Railway workers drive.
--
-- Nothing here is for end users. config.toml exposes the schema through
-- PostgREST so workers can call the queue RPCs with the service_role key, but
-- anon and authenticated get no usage on the schema, no grants on its objects
-- and no RLS policies: exposure without grants is a 403, never a data leak.

create schema ops;

comment on schema ops is
  'Background job queue and worker heartbeats. Service role only; workers use the RPCs.';

-- A new schema grants nothing to PUBLIC, but spell the intent out so that a
-- later "grant usage ... to public" stands out in review.
revoke all on schema ops from public;
grant usage on schema ops to service_role;

-- ---------------------------------------------------------------------------
-- Shared trigger: keep updated_at honest whatever path a write takes.
-- ---------------------------------------------------------------------------

create function ops.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- Functions are executable by PUBLIC by default; a trigger function has no
-- business being callable by anyone.
revoke all on function ops.set_updated_at() from public;

-- ---------------------------------------------------------------------------
-- ops.job_queue
-- ---------------------------------------------------------------------------

create table ops.job_queue (
  id           uuid        primary key default gen_random_uuid(),
  job_type     text        not null,
  payload      jsonb       not null default '{}'::jsonb,
  status       text        not null default 'pending',
  priority     integer     not null default 0,
  attempts     integer     not null default 0,
  max_attempts integer     not null default 5,
  run_at       timestamptz not null default now(),
  claimed_by   text,
  claimed_at   timestamptz,
  last_error   text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),

  -- text + check rather than an enum: changing the set of states later is a
  -- constraint swap in one migration. A new enum value cannot be used in the
  -- transaction that adds it, and an enum value can never be dropped.
  constraint job_queue_status_check
    check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  constraint job_queue_job_type_check
    check (length(btrim(job_type)) > 0),
  constraint job_queue_payload_check
    check (jsonb_typeof(payload) = 'object'),
  constraint job_queue_attempts_check
    check (attempts >= 0 and max_attempts >= 1),
  -- A running job always says who holds it and since when; the stale-job
  -- reaper and the worker dashboard depend on it.
  constraint job_queue_running_is_claimed_check
    check (status <> 'running' or (claimed_by is not null and claimed_at is not null))
);

comment on table ops.job_queue is
  'Jobs for the Railway workers. Write through ops.queue_job, ops.claim_pending_job and ops.update_job_status.';
comment on column ops.job_queue.priority is
  'Higher runs first among jobs that are due.';
comment on column ops.job_queue.run_at is
  'Not claimed before this time; retries push it forward.';
comment on column ops.job_queue.attempts is
  'Claims so far, counted when a worker claims the job.';

-- Claiming scans pending jobs of a few types in due order. Finished jobs
-- pile up forever, so keep them out of the index altogether.
create index job_queue_pending_idx
  on ops.job_queue (job_type, run_at)
  where status = 'pending';

create trigger job_queue_set_updated_at
  before update on ops.job_queue
  for each row execute function ops.set_updated_at();

-- ---------------------------------------------------------------------------
-- ops.worker_heartbeats
-- ---------------------------------------------------------------------------

create table ops.worker_heartbeats (
  worker_id     text        primary key,
  worker_type   text        not null,
  hostname      text,
  version       text,
  status        text        not null default 'online',
  first_seen_at timestamptz not null default now(),
  last_seen_at  timestamptz not null default now(),

  -- 'online' is written by every heartbeat; a worker that shuts down cleanly
  -- marks itself 'offline' so the dashboard does not report it as stale.
  constraint worker_heartbeats_status_check
    check (status in ('online', 'offline')),
  constraint worker_heartbeats_worker_id_check
    check (length(btrim(worker_id)) > 0)
);

comment on table ops.worker_heartbeats is
  'One row per worker process, upserted by ops.register_heartbeat.';

-- ---------------------------------------------------------------------------
-- Access: RLS on, no policies, service_role only.
-- ---------------------------------------------------------------------------

-- RLS with no policies denies every row to every role that is subject to it.
-- service_role bypasses RLS (BYPASSRLS), and the security definer RPCs run as
-- the table owner, which RLS does not apply to (the tables are not FORCEd).
alter table ops.job_queue enable row level security;
alter table ops.worker_heartbeats enable row level security;

-- The platform's default privileges cover `public` only, so these revokes are
-- a no-op today; they keep a future default-privilege change from silently
-- opening the queue to API users.
revoke all on table ops.job_queue, ops.worker_heartbeats from public, anon, authenticated;

-- The job state machine lives in the RPCs, so the queue is read-only to the
-- service role: a direct UPDATE would skip the transition checks.
grant select on table ops.job_queue to service_role;
-- Heartbeat rows belong to the workers: a worker marks itself offline on
-- shutdown, operators prune workers that are gone. Inserts go through the RPC.
grant select, update, delete on table ops.worker_heartbeats to service_role;
