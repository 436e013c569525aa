"""gunicorn's settings for `make serve` and tests/test_serve.py (docs/deploy.md).

The bind address comes from the command line (`--bind HOST:PORT`); the rest is here, so that the
test starts what production runs.
"""

import os

wsgi_app = "samplan.wsgi:application"
pythonpath = "src"

# Sync workers: a page is a handful of short queries and a template, and a sync worker holds one
# database connection for one request at a time. 2 × cores + 1 keeps the cores busy while some
# workers wait on the database; the cap keeps memory and database connections bounded (each
# worker keeps one connection to PostgreSQL): more load than that is for another app server.
worker_class = "sync"
_cores = len(os.sched_getaffinity(0))
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * _cores + 1, 9))

# The app is imported once, before the workers fork: they start at once and share its memory.
preload_app = True

# A unit's contingency pack built on request renders every plan in the request (about a minute
# for 500 plans); the default 30 s would kill the worker midway.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "180"))
graceful_timeout = 30
# Recycle a worker now and then: a slow leak in a library cannot grow without bound. The jitter
# keeps the workers from restarting all at once.
max_requests = 2000
max_requests_jitter = 200

# Forwarded headers are believed by Samplan only (samplan.hardening, SAMPLAN_TRUSTED_PROXIES).
# gunicorn's own default trusts X-Forwarded-Proto from 127.0.0.1 and would mark a request
# https behind Django's back.
forwarded_allow_ips = ""

# One line per request on stdout, without the query string (a search may carry a name).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"

# gunicorn's runtime control socket sits at one path per user (~/.gunicorn): two app servers on
# one machine, or a test beside `make serve`, would share it. Signals do the same job.
control_socket_disable = True
