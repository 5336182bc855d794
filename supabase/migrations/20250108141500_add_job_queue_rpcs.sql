-- The four queue RPCs of the runbook. Workers call nothing else, so their
-- signatures are the contract (supabase/contract.yml) and never change in place.
--
-- All four are SECURITY DEFINER: they run as the table owner, which is how the
-- read-only service role gets to write the queue, and only through these
-- checks. `set search_path = ''` makes every name inside resolve exactly as
-- written (pg_catalog is still searched implicitly), so a caller cannot shadow
-- a table or operator with an object of their own.
--
-- Errors, chosen for PostgREST (which turns SQLSTATE PTnnn into HTTP status nnn):
--   22023 invalid_parameter_value  bad argument: unknown status, empty type list
--   PT404                          no job with that id
--   PT409                          the job's current status forbids the change

-- ---------------------------------------------------------------------------
-- ops.queue_job: add a job, return its id.
-- ---------------------------------------------------------------------------

create function ops.queue_job(
  p_job_type text,
  p_payload  jsonb,
  p_priority integer     default 0,
  p_run_at   timestamptz default now()
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  -- PostgREST passes JSON null for an explicit null; treat it as "default".
  insert into ops.job_queue (job_type, payload, priority, run_at)
  values (
    p_job_type,
    coalesce(p_payload, '{}'::jsonb),
    coalesce(p_priority, 0),
    coalesce(p_run_at, now())
  )
  returning id into v_id;

  return v_id;
end;
$$;

comment on function ops.queue_job(text, jsonb, integer, timestamptz) is
  'Queue a job of p_job_type; runs no earlier than p_run_at, higher p_priority first. Returns the job id.';

-- ---------------------------------------------------------------------------
-- ops.claim_pending_job: hand up to p_limit due jobs to one worker.
-- ---------------------------------------------------------------------------

create function ops.claim_pending_job(
  p_job_types text[],
  p_limit     integer,
  p_worker_id text
)
returns setof ops.job_queue
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_job_types is null or cardinality(p_job_types) = 0 then
    raise exception 'p_job_types must name at least one job type'
      using errcode = '22023';
  end if;
  if p_limit is null or p_limit < 1 then
    raise exception 'p_limit must be at least 1, got %', coalesce(p_limit::text, 'null')
      using errcode = '22023';
  end if;
  if p_worker_id is null or btrim(p_worker_id) = '' then
    raise exception 'p_worker_id must identify the claiming worker'
      using errcode = '22023';
  end if;

  -- SKIP LOCKED: concurrent workers each take different rows instead of
  -- queueing behind one another's row locks. MATERIALIZED pins the locking
  -- subquery to a single execution, so LIMIT cannot be applied twice.
  return query
  with candidates as materialized (
    select j.id
    from ops.job_queue as j
    where j.status = 'pending'
      and j.job_type = any (p_job_types)
      and j.run_at <= now()
    order by j.run_at
    limit p_limit
    for update skip locked
  )
  update ops.job_queue as j
  set status     = 'running',
      claimed_by = p_worker_id,
      claimed_at = now(),
      attempts   = j.attempts + 1
  from candidates as c
  where j.id = c.id
  returning j.*;
end;
$$;

comment on function ops.claim_pending_job(text[], integer, text) is
  'Claim up to p_limit due pending jobs of the given types for worker p_worker_id; returns them running.';

-- ---------------------------------------------------------------------------
-- ops.update_job_status: move a job through its state machine.
--
--   pending -> cancelled
--   running -> completed | failed | cancelled | pending
--   completed, failed, cancelled are final; repeating the same final status
--   is a no-op, so a worker may safely retry a request that timed out.
--
-- Jobs become running only through ops.claim_pending_job.
--
-- 'failed' with attempts left puts the job back to pending, due after
-- p_retry_delay_seconds (default: 30 s doubling per attempt, at most 1 h);
-- it stays 'failed' only once max_attempts is spent. 'pending' from running is
-- a release (a worker draining before a deploy): the claim is returned and
-- does not count as an attempt; it is due after p_retry_delay_seconds (default 0).
--
-- Returns the job as it is after the change, so the worker can tell a retry
-- (status pending, new run_at) from a final failure.
-- ---------------------------------------------------------------------------

create function ops.update_job_status(
  p_job_id              uuid,
  p_status              text,
  p_error               text    default null,
  p_retry_delay_seconds integer default null
)
returns ops.job_queue
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job   ops.job_queue;
  v_delay integer;
begin
  if p_status is null
     or p_status not in ('pending', 'running', 'completed', 'failed', 'cancelled') then
    raise exception 'unknown job status %', coalesce(quote_literal(p_status), 'null')
      using errcode = '22023',
            hint = 'Use one of pending, running, completed, failed, cancelled.';
  end if;
  if p_retry_delay_seconds < 0 then
    raise exception 'p_retry_delay_seconds must not be negative, got %', p_retry_delay_seconds
      using errcode = '22023';
  end if;

  -- Lock first, then decide: the transition is checked against the status
  -- no one else can change until we commit.
  select * into v_job
  from ops.job_queue
  where id = p_job_id
  for update;

  if not found then
    raise exception 'job % does not exist', p_job_id
      using errcode = 'PT404';
  end if;

  if v_job.status = p_status and p_status in ('completed', 'failed', 'cancelled') then
    return v_job;
  end if;

  if not (
       (v_job.status = 'pending' and p_status = 'cancelled')
    or (v_job.status = 'running' and p_status in ('completed', 'failed', 'cancelled', 'pending'))
  ) then
    raise exception 'job % cannot go from % to %', p_job_id, v_job.status, p_status
      using errcode = 'PT409',
            hint = case
              when p_status = 'running' then 'Jobs start running only through ops.claim_pending_job.'
              else 'A job is changed only while it is running, or cancelled while pending.'
            end;
  end if;

  if p_status = 'failed' and v_job.attempts < v_job.max_attempts then
    v_delay := coalesce(
      p_retry_delay_seconds,
      least(30 * power(2, greatest(v_job.attempts - 1, 0)), 3600)::integer
    );
    update ops.job_queue
    set status     = 'pending',
        run_at     = now() + make_interval(secs => v_delay),
        claimed_by = null,
        claimed_at = null,
        last_error = p_error
    where id = p_job_id
    returning * into v_job;
  elsif p_status = 'pending' then
    update ops.job_queue
    set status     = 'pending',
        run_at     = now() + make_interval(secs => coalesce(p_retry_delay_seconds, 0)),
        attempts   = greatest(attempts - 1, 0),
        claimed_by = null,
        claimed_at = null
    where id = p_job_id
    returning * into v_job;
  else
    -- Final states keep claimed_by/claimed_at: who ran the job, and when.
    update ops.job_queue
    set status     = p_status,
        last_error = coalesce(p_error, last_error)
    where id = p_job_id
    returning * into v_job;
  end if;

  return v_job;
end;
$$;

comment on function ops.update_job_status(uuid, text, text, integer) is
  'Move a job to p_status (validated transition); a failure with attempts left is retried. Returns the job.';

-- ---------------------------------------------------------------------------
-- ops.register_heartbeat: a worker says it is alive.
-- ---------------------------------------------------------------------------

create function ops.register_heartbeat(
  p_worker_id   text,
  p_worker_type text,
  p_hostname    text,
  p_version     text
)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into ops.worker_heartbeats as w
    (worker_id, worker_type, hostname, version, status, last_seen_at)
  values
    (p_worker_id, p_worker_type, p_hostname, p_version, 'online', now())
  on conflict (worker_id) do update
  set worker_type  = excluded.worker_type,
      hostname     = excluded.hostname,
      version      = excluded.version,
      status       = 'online',
      last_seen_at = excluded.last_seen_at;
$$;

comment on function ops.register_heartbeat(text, text, text, text) is
  'Upsert the heartbeat of worker p_worker_id; first_seen_at is kept, last_seen_at moves.';

-- ---------------------------------------------------------------------------
-- Who may call them: the service role, and no one else.
-- ---------------------------------------------------------------------------

-- EXECUTE is granted to PUBLIC on every new function, and anon/authenticated
-- inherit through PUBLIC; a definer function open to them would hand the
-- whole queue to any holder of the anon key.
revoke all on function
  ops.queue_job(text, jsonb, integer, timestamptz),
  ops.claim_pending_job(text[], integer, text),
  ops.update_job_status(uuid, text, text, integer),
  ops.register_heartbeat(text, text, text, text)
from public, anon, authenticated;

grant execute on function
  ops.queue_job(text, jsonb, integer, timestamptz),
  ops.claim_pending_job(text[], integer, text),
  ops.update_job_status(uuid, text, text, integer),
  ops.register_heartbeat(text, text, text, text)
to service_role;
