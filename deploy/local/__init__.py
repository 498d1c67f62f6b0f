"""Real local infrastructure (a Kafka broker and a PostgreSQL server) for `make run` and for tests.

Both run as plain child processes from files under `.kasane/`; no containers are needed.
"""

from deploy.local.kafka import LocalKafka
from deploy.local.ports import free_port
from deploy.local.postgres import LocalPostgres

__all__ = ["LocalKafka", "LocalPostgres", "free_port"]
