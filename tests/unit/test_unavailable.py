"""Which database errors mean "retry later" (consumers retry, HTTP answers 503) and which mean "bad work".

The fault suite found valid events dead-lettered while PostgreSQL recovered from a crash: it
answers 57P03 "the database system is starting up", which SQLAlchemy wraps as a plain DBAPIError.
"""

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from libs.db import unavailable


def wrapped(error: BaseException) -> DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: an adapter error caused by asyncpg's."""
    adapted = Exception("adapted")
    adapted.__cause__ = error
    return DBAPIError("SELECT 1", {}, adapted)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        wrapped(asyncpg.exceptions.TooManyConnectionsError("too many clients")),
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("gone")),
        OperationalError("SELECT 1", {}, Exception("connection refused")),
        ConnectionRefusedError(),
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out, timeout 30.00"),
    ],
    ids=[
        "starting-up",
        "admin-shutdown",
        "too-many-connections",
        "connection-gone",
        "operational",
        "refused",
        "pool-exhausted",
    ],
)
def test_an_outage_is_unavailable(error: BaseException) -> None:
    assert unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        IntegrityError("INSERT", {}, Exception("duplicate")),
        wrapped(asyncpg.exceptions.InvalidTextRepresentationError("bad input")),
        ValueError("not a database error"),
    ],
    ids=["unique-violation", "integrity", "bad-input", "value-error"],
)
def test_bad_work_is_not_unavailable(error: BaseException) -> None:
    assert not unavailable(error)
