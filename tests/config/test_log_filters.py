"""A logger that reports every call during an outage is told once every few seconds."""

import logging
import time

from django_redis.cache import RedisCache

from core.log_filters import AtMostEvery

DJANGO_REDIS_LOGGER = "django_redis.cache"


def test_django_redis_is_logged_at_most_every_5_seconds():
    # Each django.setup() configures logging again and adds one (the WSGI app, Celery do it).
    filters = logging.getLogger(DJANGO_REDIS_LOGGER).filters
    assert filters
    assert all(isinstance(f, AtMostEvery) and f.seconds == 5 for f in filters)


def test_a_cache_with_redis_down_logs_its_first_failure_only(
    settings, unused_tcp_port, caplog, monkeypatch
):
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # A fresh filter: what other tests logged must not count against this one.
    monkeypatch.setattr(logging.getLogger(DJANGO_REDIS_LOGGER), "filters", [AtMostEvery(5)])
    cache = RedisCache(
        f"redis://127.0.0.1:{unused_tcp_port}/0",  # nothing listens there
        {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1}},
    )
    with caplog.at_level(logging.WARNING, logger=DJANGO_REDIS_LOGGER):
        for _ in range(20):
            assert cache.get("heartbeat") is None  # the miss is ignored, not raised
    records = [r for r in caplog.records if r.name == DJANGO_REDIS_LOGGER]
    assert [r.getMessage() for r in records] == ["Exception ignored"]
    assert records[0].exc_info is not None  # the one logged keeps its traceback


def test_the_next_record_let_through_counts_those_held_back():
    logger = logging.getLogger("tests.at_most_every")
    at_most_every = AtMostEvery(0.05)
    passed = []
    handler = logging.Handler()
    handler.emit = passed.append
    logger.addFilter(at_most_every)
    logger.addHandler(handler)
    try:
        for _ in range(4):
            logger.warning("cache down")
        time.sleep(0.06)  # the interval passes
        logger.warning("cache down")
        assert [r.getMessage() for r in passed] == [
            "cache down",
            "cache down (and 3 more like it not logged)",
        ]
    finally:
        logger.removeFilter(at_most_every)
        logger.removeHandler(handler)
