"""``hyreka-amazon audit verify``: is the audit log intact?

Checks every link of the log with the vault key and the log against the database's record of
it (its first and last entry), and says what is wrong in the run's language: lines cut at the
start or the end, a line edited (even with its chain made again without the key), missing
or unreadable records. Exit 0 when the log is intact, 1 when it is not.
"""

from __future__ import annotations

import argparse

from hyreka_plugin_amazon.refhost.cli.common import EXIT_FAILED, open_host
from hyreka_plugin_amazon.refhost.i18n.texts import plural, translate
from hyreka_plugin_amazon.refhost.safety.audit import AuditCheck
from hyreka_plugin_amazon.refhost.services import auditing


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``audit`` (and ``audit verify``) on the ``hyreka-amazon`` parser."""
    audit = sub.add_parser("audit", parents=[common], help="the audit log")
    actions = audit.add_subparsers(metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        parents=[common],
        help="check that the audit log is intact (exit 1 when it is not)",
        description=(
            "Checks every link of the audit log with the vault key and the log against the "
            "database's record of its first and last entry: lines cut at the start or the "
            "end, edited, inserted or re-chained show. Exit 0: intact; 1: not intact."
        ),
    )
    verify.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    with open_host(args) as host:
        found = auditing.verify(host)
    for line in report(found, args.lang):
        print(line)
    return 0 if found.intact else EXIT_FAILED


def report(found: AuditCheck, lang: str) -> list[str]:
    """What ``audit verify`` prints: one line when intact, else a line and one per finding."""
    if found.intact:
        return [plural("cli.audit.intact", found.lines, lang)]
    lines = [plural("cli.audit.broken", len(found.findings), lang)]
    lines += [
        "  - " + translate(finding.text_id, lang, **finding.params()) for finding in found.findings
    ]
    return lines
