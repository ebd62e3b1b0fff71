"""Output the command modules share: a finished sync's line, the audit log's state, times as
the CLI prints them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from hyreka_plugin_amazon.refhost.background.poller import FinishedSync
from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE, plural, translate
from hyreka_plugin_amazon.refhost.safety.audit import AuditCheck
from hyreka_plugin_amazon.refhost.safety.terminal import printable


def print_finished(done: FinishedSync, out: TextIO, lang: str = DEFAULT_LOCALE) -> None:
    """A finished scheduled sync: one line (account, message id, counts, next run), then its
    warnings; never personal data."""
    result = done.result
    if done.paused:
        then = translate("cli.run.paused", lang)
    elif done.next_run is not None:
        then = translate("cli.run.next", lang, time=clock_time(done.next_run))
    else:
        then = translate("cli.run.not_scheduled", lang)
    counts = translate(
        "cli.counts",
        lang,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=plural("cli.n.failed_rows", result.failed_rows, lang),
    )
    line = f"{clock_time(done.finished)}  {done.account_name}  {result.code}  {counts}  {then}"
    if not result.ok:
        line += f"  {result.message}"
    print(printable(line), file=out, flush=True)
    for warning in result.warnings:
        print(f"  ! {printable(warning)}", file=out, flush=True)


def audit_line(found: AuditCheck, lang: str = DEFAULT_LOCALE) -> str:
    """Whether the audit log is intact, in one line (``status``)."""
    if found.intact:
        return plural("cli.status.audit_intact", found.lines, lang)
    return plural("cli.status.audit_broken", len(found.findings), lang)


def clock_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
