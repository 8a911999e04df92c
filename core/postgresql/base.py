"""Django's PostgreSQL backend with a health check that costs no round trip.

CONN_HEALTH_CHECKS makes Django check a kept connection before each request uses it; the stock
check sends `SELECT 1`, a round trip on every request. An idle connection has nothing to read, so
a socket that polls readable means the server has closed it or sent an error (a restart's
"terminating connection due to administrator command"), or notifications wait for a connection
that LISTENs (tenants.caches): only then is `SELECT 1` asked, and answered with an error or with
the notifications. A connection that polls quiet is used as it is.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        if self.connection.info.transaction_status == pq.TransactionStatus.IDLE:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN)
            if not poller.poll(0):
                return True
        return super().is_usable()
