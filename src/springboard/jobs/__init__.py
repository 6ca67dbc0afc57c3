"""Jobs: one table, one state machine, one executor, one log and metrics stream per job.

Kinds (`models.JobKind`): `transform`, `training` and `invocation`. `service` creates,
lists, stops, resumes and waits for jobs; `scheduler` alone decides which waiting jobs
start and which expire (reads never start one); `executor` starts their worker
processes; `worker` is that process; each kind's work lives in its own module, and the
batch kinds share one pipeline (`batch`, with a record codec per kind). A job's
status stays true when its worker dies (heartbeats, pid checks).
"""
