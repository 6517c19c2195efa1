"""flask commands: users, seed-demo, backup, mail, scheduler, jobs, search (bench lives in bench.py)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from .accounts.models import Role
from .errors import ValidationFailed
from .extensions import db
from .mail.models import MessageStatus

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--name", default="")
@click.option("--firm-name")
@click.option("--firm-uscc", help="统一社会信用代码; an existing firm with this code is reused.")
@click.option("--city", "city_code", help="City code: the firm's city, or the city admin's.")
@click.option("--institution", "institution_id", type=int)
@click.option("--language", default="zh_CN", type=click.Choice(["zh_CN", "en"]))
@click.option("--org-admin", is_flag=True,
              help="Make the user an administrator of their firm or institution (its first member is one anyway).")
def create_user_command(email, password, role, name, firm_name, firm_uscc, city_code,
                        institution_id, language, org_admin):
    """Create a user of any role (API.md, "Roles")."""
    from .accounts.services import create_user, find_or_create_firm
    from .database import begin_write_transaction
    from .text import TextRefused, clean_line

    given = {"--email": email, "--name": name, "--firm-name": firm_name, "--firm-uscc": firm_uscc,
             "--city": city_code}
    cleaned = {}
    for option, value in given.items():  # one line each, as the API and the forms take them
        try:
            cleaned[option] = None if value is None else clean_line(value)
        except TextRefused as refused:
            raise click.BadParameter(refused.message, param_hint=option) from None
    email, name, firm_name, firm_uscc, city_code = cleaned.values()
    begin_write_transaction()  # before reading what is checked (the address, the USCC)
    try:
        firm = None
        if role == Role.FIRM:
            if not firm_uscc:
                raise click.UsageError("A firm user needs --firm-uscc (and --firm-name, --city for a new firm).")
            firm = find_or_create_firm(firm_name or "", firm_uscc, city_code or "")
        user = create_user(
            email=email, password=password, role=role, name=name, firm=firm,
            institution_id=institution_id, city_code=city_code, language=language,
            org_admin=org_admin or None,
        )
    except ValidationFailed as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {details}") from error
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id})"
               + (", administrator of its organisation." if user.org_admin else "."))


@click.command("seed-demo")
def seed_demo_command():
    """Load the demo region (idempotent): institutions, instruments, firms, users."""
    from .demo.seed import DEMO_PASSWORD, seed_demo

    summary = seed_demo(progress=True)
    click.echo(summary.describe())
    click.echo(f"Demo password for every demo login: {DEMO_PASSWORD}")


mail_cli = AppGroup("mail", help="The e-mail outbox.")


@mail_cli.command("deliver")
@click.option("--all", "include_waiting", is_flag=True,
              help="also retry messages still waiting out their back-off")
def deliver_command(include_waiting):
    """Send the outbox messages that are due (the scheduler runs the same)."""
    from .mail.delivery import deliver_due

    click.echo(str(deliver_due(include_waiting=include_waiting)))


@mail_cli.command("list")
@click.option("--status", type=click.Choice([status.value for status in MessageStatus]))
@click.option("--limit", default=50, show_default=True)
def list_mail_command(status, limit):
    """Queued, sent and dead messages, newest first."""
    import sqlalchemy as sa

    from .mail.models import OutboxMessage

    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    for row in db.session.scalars(query):
        click.echo(f"{row.id:>6} {row.status:<8} {row.attempts}x {row.created_at:%Y-%m-%d %H:%M} "
                   f"{row.recipient:<32} {row.subject}" + (f"  [{row.last_error[:60]}]" if row.last_error else ""))


@mail_cli.command("resend")
@click.argument("message_id", type=int)
def resend_command(message_id):
    """Queue a dead message again."""
    from .mail.delivery import resend

    if resend(message_id) is None:
        raise click.ClickException("No such unsent message.")
    db.session.commit()
    click.echo(f"Message {message_id} queued again.")


@click.command("scheduler")
def scheduler_command():
    """Run the scheduler (only the elected one of several runs jobs)."""
    import logging

    from flask import current_app

    from .scheduler.runner import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_scheduler(current_app._get_current_object(), echo=lambda text: click.echo(text, nl=True))


jobs_cli = AppGroup("jobs", help="The scheduler's jobs, by hand.")


@jobs_cli.command("list")
def list_jobs_command():
    """The jobs, their schedule and what they do."""
    from .scheduler.jobs import JOBS

    for job in JOBS.values():
        schedule = " ".join(f"{k}={v}" for k, v in job.trigger.items())
        click.echo(f"{job.name:<28} {schedule:<45} {job.description}")


@jobs_cli.command("run")
@click.argument("name")
@click.option("--now", help="ISO time to run the job for (default: now)")
@click.option("--period", help="reports: 2026-10, 2026-W44 or 2026-10-01..2026-10-31")
def run_job_command(name, now, period):
    """Run one job now (or as if at --now)."""
    from .scheduler.jobs import JOBS
    from .scheduler.reports import parse_period
    from .timeutil import parse_client_time, utcnow

    job = JOBS.get(name)
    if job is None:
        raise click.UsageError(f"No job {name!r}; see `flask jobs list`.")
    try:
        moment = parse_client_time(now) if now else utcnow()
        chosen = parse_period(period) if period else None
    except (ValueError, ValidationFailed) as error:
        raise click.UsageError(f"Cannot read --now or --period: {error}") from error
    click.echo(f"{name}: {job.function(moment, chosen)}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=True, path_type=str))
@click.option("--force", is_flag=True, help="replace PATH if it exists")
@with_appcontext
def backup_command(path, force):
    """Copy the SQLite database to PATH while the app runs (PostgreSQL: use pg_dump)."""
    from .tools.backup import BackupError, backup_database

    try:
        report = backup_database(db.engine, path, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(report.describe())


@click.command("integrity")
def integrity_command():
    """Check the platform's invariants (no overlap, ledgers, holds, captures,
    outbox keys); exit 1 listing every row that breaks one."""
    from .integrity import violations

    found = violations()
    for violation in found:
        click.echo(str(violation))
    if found:
        raise SystemExit(1)
    click.echo("All invariants hold.")


search_cli = AppGroup("search", help="The instrument search index.")


@search_cli.command("reindex")
def reindex_command():
    """Index every instrument again (after an upgrade that changed how text is
    indexed, or the thesaurus)."""
    from .database import begin_write_transaction
    from .search.index import reindex

    begin_write_transaction()
    count = reindex()
    db.session.commit()
    click.echo(f"Indexed {count} instruments.")


stats_cli = AppGroup("stats", help="The statistics' daily roll-ups.")


@stats_cli.command("rebuild")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="first day (default: all days)")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="last day (default: the first, or all days)")
@click.option("--check", is_flag=True, help="only replace the days that drifted, and list them")
def stats_rebuild_command(first, last, check):
    """Recompute the daily roll-ups from the raw rows (after an upgrade of the
    holiday calendar, a bulk load, or to repair drift); exit 1 with --check
    when a day had drifted."""
    from .database import begin_write_transaction
    from .stats import rollups

    begin_write_transaction()
    if first is None and last is None:
        days = rollups.rebuild_all()
        db.session.commit()
        click.echo(f"Rebuilt the roll-ups of {days} days.")
        return
    first = (first or last).date()
    last = (last or first).date() if last is not None else first
    found = rollups.rebuild(first, last, check=check)
    db.session.commit()
    for item in found:
        click.echo(str(item))
    click.echo(f"Rebuilt the roll-ups of {first} to {last}: {len(found)} rows had drifted.")
    if check and found:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    from .tools.bench import bench_command

    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(bench_command)
    app.cli.add_command(mail_cli)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(integrity_command)
    app.cli.add_command(search_cli)
    app.cli.add_command(stats_cli)
