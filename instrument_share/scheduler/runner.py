"""The scheduler process: wait to be elected, then run the jobs.

Web workers never run jobs; only `flask scheduler` processes do, and of
those only the elected one. It renews its lead every third of the lease;
a scheduler that loses it stops at once (its supervisor restarts it, and it
waits again).
"""
from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from ..extensions import db
from ..timeutil import utcnow
from .election import Elector
from .jobs import JOBS, Job

log = logging.getLogger("instrument_share.scheduler")


def run_job(app: Flask, job: Job) -> None:
    with app.app_context():
        try:
            result = job.function(utcnow())
            log.info("job %s: %s", job.name, result)
        except Exception:  # a failing job must not stop the others
            db.session.rollback()
            log.exception("job %s failed", job.name)
        finally:
            db.session.remove()


def missed_within_grace(job: Job, zone, now=None) -> bool:
    """A cron job whose last fire time passed while no scheduler ran, within its grace."""
    if job.trigger.get("trigger") != "cron":
        return False
    trigger = CronTrigger(timezone=zone, **{k: v for k, v in job.trigger.items() if k != "trigger"})
    now = (now or utcnow()).astimezone(zone)
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=job.misfire_grace_seconds))
    return fire is not None and fire <= now


def run_scheduler(app: Flask, echo=print) -> None:
    lease = int(app.config["SCHEDULER_LEASE_SECONDS"])
    poll = float(app.config["SCHEDULER_POLL_SECONDS"])
    zone = app.config["PLATFORM_TIMEZONE"]
    with app.app_context():
        elector = Elector(lease)
        echo(f"scheduler {elector.me}: waiting to lead")
        while not elector.try_acquire():
            db.session.remove()
            time.sleep(poll)
        db.session.remove()
        echo(f"scheduler {elector.me}: leading")

    scheduler = BlockingScheduler(timezone=zone, job_defaults={"coalesce": True, "max_instances": 1})

    def renew() -> None:
        with app.app_context():
            still = elector.renew()
            db.session.remove()
        if not still:
            echo(f"scheduler {elector.me}: lost the lead, stopping")
            os._exit(3)  # the supervisor restarts us; we then wait to lead again

    for job in JOBS.values():
        trigger = dict(job.trigger)
        scheduler.add_job(run_job, args=[app, job], id=job.name, name=job.name,
                          misfire_grace_time=job.misfire_grace_seconds, replace_existing=True,
                          **{"trigger": trigger.pop("trigger"), **trigger})
        if missed_within_grace(job, scheduler.timezone):
            # Reports are idempotent: running a missed one again sends only what was not sent.
            scheduler.add_job(run_job, args=[app, job], id=f"{job.name}-catch-up", next_run_time=utcnow())
    scheduler.add_job(renew, "interval", seconds=max(1, lease / 3), id="renew-lead")
    try:
        scheduler.start()
    finally:
        with app.app_context():
            elector.release()
