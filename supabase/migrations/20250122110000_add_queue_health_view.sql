-- ops.v_queue_health: one row per job type for the operations dashboard and
-- the post-migration smoke check ("are jobs still flowing?").
--
-- security_invoker: the view reads the queue with the caller's privileges and
-- RLS, not its owner's. Without it a view owned by postgres would bypass RLS
-- for anyone who can select from it.

create view ops.v_queue_health
with (security_invoker = true)
as
select
  j.job_type,
  count(*) filter (where j.status = 'pending')                        as pending,
  -- Due now: the backlog workers should be eating. Pending jobs scheduled for
  -- later are not a backlog.
  count(*) filter (where j.status = 'pending' and j.run_at <= now())  as ready,
  count(*) filter (where j.status = 'running')                        as running,
  count(*) filter (where j.status = 'completed')                      as completed,
  count(*) filter (where j.status = 'failed')                         as failed,
  count(*) filter (where j.status = 'cancelled')                      as cancelled,
  -- Measured from run_at, not created_at: how long the oldest due job has
  -- been waiting for a worker. Null when nothing is due.
  now() - min(j.run_at) filter (where j.status = 'pending' and j.run_at <= now())
                                                                      as oldest_pending_age
from ops.job_queue as j
group by j.job_type;

comment on view ops.v_queue_health is
  'Per job type: jobs in each status, due backlog, and how long the oldest due job has waited.';

revoke all on table ops.v_queue_health from public, anon, authenticated;
grant select on table ops.v_queue_health to service_role;
