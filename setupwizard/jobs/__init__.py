"""The job queue that runs setups when the database is PostgreSQL: procrastinate (docs/deploy.md).

- :mod:`.queue`: the procrastinate app (its psycopg connector) and whether a configuration uses it.
- :mod:`.repository`: our SQL around the queue: the server lock, the deferred job, the sealed request.
- :mod:`.sealing`: the request a job runs, sealed with the secret box (job arguments hold the session id
  only).
- :mod:`.launcher`: ``POST /api/setup/auto-setup``'s side: session row, sealed request and job in one
  transaction; waiting for the session's end.
- :mod:`.task`: the job itself, run by a worker: the same :class:`~setupwizard.setup.service.SetupService`
  run as in the embedded mode.
- :mod:`.worker`: a procrastinate worker inside ``setupwizard serve`` or ``setupwizard worker``.
"""
