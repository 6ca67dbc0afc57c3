"""Jobs: one table, one state machine, one executor, one log and metrics stream per job.

Kinds: `transform` (batch transform), later `training` and `invocation`. `service`
creates, lists, stops, resumes and waits for jobs; `executor` starts their worker
processes; `worker` is that process; each kind's work lives in its own module
(`transform`). A job's status stays true when its worker dies (heartbeats, pid checks).
"""
