-- Claim by priority. The first claim ignored job_queue.priority and served due
-- jobs oldest first, so an urgent job queued behind a bulk backfill waited for
-- the whole backfill. It now takes the highest priority first, then the
-- longest due.
--
-- It also skips pending jobs whose attempts are spent. Those appear when an
-- operator hands a stuck running job back with ops.update_job_status(...,
-- 'pending') after its worker crashed mid-attempt, or lowers max_attempts:
-- claiming one would run it beyond its budget.
--
-- Same signature, so `create or replace` keeps the grants, and workers on
-- either side of the deploy keep working.

create or replace function ops.claim_pending_job(
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
  -- UPDATE ... RETURNING yields rows in no particular order, so the claimed
  -- batch is sorted again: a worker processes it front to back.
  return query
  with candidates as materialized (
    select j.id
    from ops.job_queue as j
    where j.status = 'pending'
      and j.job_type = any (p_job_types)
      and j.run_at <= now()
      and j.attempts < j.max_attempts
    order by j.priority desc, j.run_at
    limit p_limit
    for update skip locked
  ),
  claimed as (
    update ops.job_queue as j
    set status     = 'running',
        claimed_by = p_worker_id,
        claimed_at = now(),
        attempts   = j.attempts + 1
    from candidates as c
    where j.id = c.id
    returning j.*
  )
  select *
  from claimed
  order by claimed.priority desc, claimed.run_at;
end;
$$;

-- The old index served "oldest due first"; the new order needs priority in it.
-- Plain CREATE INDEX: the migration runs in a transaction, where CONCURRENTLY
-- is not allowed, and the partial index covers pending jobs only, so the
-- build is short.
create index job_queue_pending_priority_idx
  on ops.job_queue (job_type, priority desc, run_at)
  where status = 'pending';

drop index ops.job_queue_pending_idx;
