-- ops.v_worker_status: which workers are alive, which went quiet, and what
-- each one holds. The release runbook reads it before a migration (are the
-- workers frozen?) and after (did they come back?).
--
-- Workers heartbeat every 30 s; two minutes is four missed beats, long enough
-- to ride out a slow network or a GC pause, short enough to page on.

create view ops.v_worker_status
with (security_invoker = true)
as
select
  w.worker_id,
  w.worker_type,
  w.hostname,
  w.version,
  w.status,
  w.first_seen_at,
  w.last_seen_at,
  now() - w.last_seen_at                                          as since_last_seen,
  -- Only a worker that claims to be online can be stale; one that signed off
  -- cleanly is simply offline.
  w.status = 'online' and w.last_seen_at < now() - interval '2 minutes' as is_stale,
  (
    select count(*)
    from ops.job_queue as j
    where j.status = 'running'
      and j.claimed_by = w.worker_id
  )                                                               as running_jobs
from ops.worker_heartbeats as w;

comment on view ops.v_worker_status is
  'Per worker: last heartbeat, staleness (online but silent for 2 minutes), jobs it is running.';

-- Serves running_jobs above, and finding the jobs a dead worker left behind.
create index job_queue_running_claimed_by_idx
  on ops.job_queue (claimed_by)
  where status = 'running';

revoke all on table ops.v_worker_status from public, anon, authenticated;
grant select on table ops.v_worker_status to service_role;
