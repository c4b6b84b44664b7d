"""Beat's schedulers (issue 15 item 5): a first sweep at start, and on Redis one that outlives a
Redis restart.

celery-redbeat takes its lock once, at start, and then lets a lost connection or a lost lock
(`ConnectionError`, `LockNotOwnedError`: a Redis restart forgets the lock) end beat. This one
logs the failure, waits a few seconds, reconnects, takes the lock again (or waits as a standby
while another replica holds it) and puts back schedule entries that a Redis without persistence
forgot. Either scheduler sends one `rems.sweep` as soon as it runs the schedule, instead of
waiting a whole REMS_SWEEP_INTERVAL_SECONDS after a start or a take-over."""

from __future__ import annotations

from typing import Any

import redis
from celery.beat import PersistentScheduler
from celery.utils.log import get_logger
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis
from redis.exceptions import LockError

logger = get_logger("celery.beat")
RETRY_SECONDS = 2.0  # between attempts while Redis does not answer
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, LockError)


class FirstSweep:
    """Sends `rems.sweep` once, on the first tick that runs the schedule (retried until sent)."""

    app: Any
    producer: Any
    first_sweep_sent = False

    def first_sweep(self) -> None:
        if not self.first_sweep_sent:
            self.app.send_task("rems.sweep", producer=self.producer)
            self.first_sweep_sent = True
            logger.info("beat: first sweep sent at start")


class EmbeddedScheduler(FirstSweep, PersistentScheduler):  # type: ignore[misc]
    """The embedded broker's scheduler (a local schedule file), with the first sweep."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        self.first_sweep()
        interval: float = super().tick(*args, **kwargs)
        return interval


class RedisScheduler(FirstSweep, RedBeatScheduler):  # type: ignore[misc]
    """redbeat's scheduler on Redis, holding its lock across Redis restarts."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if not self._hold_lock():
                return float(self.max_interval)  # a standby: another replica runs the schedule
            if not get_redis(self.app).exists(self.app.redbeat_conf.schedule_key):
                logger.warning("beat: the schedule is gone from Redis (restarted?); storing it again")
                self.setup_schedule()
            self.first_sweep()
            interval: float = super().tick(*args, **kwargs)
            return interval
        except REDIS_DOWN as error:
            logger.warning("beat: Redis unavailable (%s); retrying in %.0f s", type(error).__name__, RETRY_SECONDS)
            self.lock = None  # taken again, with a new token, once Redis answers
            return RETRY_SECONDS

    def _hold_lock(self) -> bool:
        """Extend the lock this process holds, or try (without waiting) to take it."""
        if self.lock is not None:
            try:
                self.lock.extend(int(self.lock_timeout))
                return True
            except LockError:
                logger.warning("beat: lost the lock (Redis restarted, or it expired); taking it again")
                self.lock = None
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)  # as redbeat: extend *to*
        if not lock.acquire(blocking=False):
            return False
        logger.info("beat: Acquired lock")
        self.lock = lock
        return True
