"""``hyreka-amazon``: the reference host's command line.

Secrets come from the environment or a hidden prompt, never from argv, and are never printed.
What the seller reads comes from the message catalogs, in ``--lang`` (or ``$HYREKA_LANG``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO, cast

from hyreka_plugin_amazon.refhost.cli import helptexts as cli_i18n
from hyreka_plugin_amazon.refhost.cli.common import (
    EXIT_CODES,
    CliError,
    database_of,
    driver_error_text,
    error_text,
    has_store,
    is_driver_error,
    open_host,
    say,
    warn_about_password_in_argv,
)
from hyreka_plugin_amazon.refhost.cli.common import SECRET_ENV as SECRET_ENV
from hyreka_plugin_amazon.refhost.i18n.texts import (
    DEFAULT_LOCALE,
    LANGUAGES,
    plural,
    translate,
)
from hyreka_plugin_amazon.refhost.i18n.texts import (
    LANG_ENV as LANG_ENV,
)
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.safety.terminal import json_text, printable, printable_text

if TYPE_CHECKING:
    from hyreka_plugin_amazon.contract import AccountField, ConnectorInfo, Progress, SyncResult

# Every command, in the order of the help, with the module that registers it (its
# ``add_commands(sub, common)``; None: this module). A run imports only the module of the
# command it names: a read command loads nothing another command needs (the web console, the
# scheduler, the simulator). A new module is its commands' lines here.
COMMANDS: Final[dict[str, str | None]] = {
    "demo": None,
    "simulator": None,
    "test-login": None,
    "sync": None,
    "import-report": None,
    "account": "accounts",
    "orders": "orderlist",
    "problems": "problems",
    "rotate-key": "security",
    "purge": "security",
    "run": "poll",
    "status": "poll",
    "ship": "ship",
    "worker": "worker",
    "web": "web",
    "audit": "audit",
    "invoice": "invoice",
    "invoices": "invoice",
}
COMMAND_PACKAGE: Final = "hyreka_plugin_amazon.refhost.cli"
DISTRIBUTION = "hyreka-plugin-amazon"  # for --version
# The reference host's parts that are extras of the distribution (pyproject.toml): a command
# that needs one imports it when it runs, and says which extra to install when it is missing.
EXTRAS: Final = {
    **dict.fromkeys(("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous"), "web"),
    **dict.fromkeys(("psycopg", "psycopg_pool", "procrastinate"), "postgres"),
}
MAX_PROBLEMS_SHOWN = 20
STORE_TEXTS = {  # StoreDamagedError.kind (and a full disk) -> what the seller reads
    "missing": "cli.store_missing",
    "damaged": "cli.store_damaged",
    "readonly": "cli.store_readonly",
    "full": "cli.store_full",
    "io": "cli.store_io",
}


def _data_folder(args: argparse.Namespace) -> Path:
    """The data folder of the run (not created), for a database error's disk."""
    return data_dir(getattr(args, "data", None), create=False)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = cli_i18n.language_of(argv)
    # --data and --lang default to SUPPRESS (a subcommand's parser would otherwise reset a
    # value given before the subcommand); their real defaults come in with the namespace
    defaults = argparse.Namespace(data=None, lang=lang, verbose=False, database=None)
    with cli_i18n.argparse_words(lang):  # argparse words some texts as it builds the parser
        # first which command (every command known, none of their modules imported; the top
        # level's --help and --version end here), then that command's own parser
        parser = build_parser(chosen=())
        parser.language = lang
        cli_i18n.translate_parser(parser, lang)
        known, _ = parser.parse_known_args(argv, namespace=argparse.Namespace(**vars(defaults)))
        if known.command is not None:
            parser = build_parser(chosen=(known.command,))
            parser.language = lang
            cli_i18n.translate_parser(parser, lang)
        args = parser.parse_args(argv, namespace=defaults)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
    _log_to_stderr(verbose=args.verbose)
    warn_about_password_in_argv(args)  # --database postgresql://user:PASSWORD@... is in `ps`
    from hyreka_plugin_amazon.refhost.safety import logredaction  # not for --version, --help

    try:
        with logredaction.installed():  # second line of defence; urllib3 kept at INFO
            code: int = args.func(args)
    except KeyboardInterrupt:
        print(translate("cli.interrupted", args.lang), file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # a part of the reference host that is an extra
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"hyreka-amazon: {translate('cli.extra_missing', args.lang, extra=extra)}",
            file=sys.stderr,
        )
        return 3
    except CliError as exc:
        print(f"hyreka-amazon: {printable_text(str(exc))}", file=sys.stderr)
        return exc.code
    except Exception as exc:
        failed = _failure(exc, args)
        if failed is None:
            raise
        return failed
    return code


def _failure(exc: Exception, args: argparse.Namespace) -> int | None:
    """An expected failure said in one line (never a traceback), and the exit code; None for
    an exception that is no expected failure. The host's errors are imported here: a command
    that raised one has loaded them already."""
    from hyreka_plugin_amazon.refhost.services.errors import (
        ServiceError,
        StoreDamagedError,
        StoreError,
        damaged,
    )

    if isinstance(exc, ServiceError):
        print(f"hyreka-amazon: {error_text(exc, args.lang)}", file=sys.stderr)
        return EXIT_CODES[exc.kind]
    if isinstance(exc, StoreDamagedError):  # never a traceback, never an empty store over data
        print(f"hyreka-amazon: {translate(STORE_TEXTS[exc.kind], args.lang)}", file=sys.stderr)
        print(f"  {printable(exc.path)}", file=sys.stderr)  # the file; the text says what to do
        return 3
    if isinstance(exc, (LookupError, ValueError, StoreError)):
        if _database_unreachable(exc):
            return _tempfail(exc, args)
        print(f"hyreka-amazon: {error_text(exc, args.lang)}", file=sys.stderr)
        return 2
    if isinstance(exc, sqlite3.DatabaseError):  # found damaged, unwritable or full while working
        kind = damaged(_data_folder(args), exc).kind  # the folder: its disk's free space
        print(f"hyreka-amazon: {translate(STORE_TEXTS[kind], args.lang)}", file=sys.stderr)
        print(f"  {type(exc).__name__}: {printable(str(exc)[:200])}", file=sys.stderr)
        return 3
    if isinstance(exc, BrokenPipeError):  # the reader went away (``| head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    if isinstance(exc, OSError):  # no space left for the key file, the audit log, the database
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            print(f"hyreka-amazon: {translate(STORE_TEXTS['full'], args.lang)}", file=sys.stderr)
            print(f"  {exc.filename or ''}", file=sys.stderr)
            return 3
        if not _database_unreachable(exc):
            return None
        return _tempfail(exc, args)
    # PostgreSQL: gone while working (try again later), or its driver
    if _database_unreachable(exc):
        return _tempfail(exc, args)
    if not is_driver_error(exc):
        return None
    print(f"hyreka-amazon: {driver_error_text(exc, args)}", file=sys.stderr)  # masked
    return 3


EXIT_TEMPFAIL: Final = 75  # sysexits.h EX_TEMPFAIL


def _database_unreachable(exc: BaseException) -> bool:
    """PostgreSQL cannot be reached (not running, restarting, the connection lost): the store's
    "cannot connect", or a psycopg connection error anywhere in the chain of causes. psycopg is
    looked at only when something imported it (SQLite runs never do)."""
    psycopg = sys.modules.get("psycopg")
    chain = f"{exc} {exc.__cause__} {exc.__context__}".lower()
    if "password" in chain or "authentication" in chain:  # refused credentials: no outage,
        return False  # the seller has to act (not "try again later")
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if getattr(seen, "text_id", None) == "store.pg_connect":
            return True
        if psycopg is not None and isinstance(
            seen, (psycopg.OperationalError, psycopg.InterfaceError)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _tempfail(exc: BaseException, args: argparse.Namespace) -> int:
    """A database outage: exit 75 (EX_TEMPFAIL) with what to do, not "wrong input" (2); the
    driver's words with every form of the password masked."""
    lang = args.lang
    if getattr(exc, "text_id", None) == "store.pg_connect":  # names the URL, no password
        text = error_text(exc, lang)
    else:
        from hyreka_plugin_amazon.refhost.services.opening import masked

        lines = str(exc).strip().splitlines()
        first = lines[0] if lines else type(exc).__name__
        detail = masked(first, database_of(args) or "")[:300]
        text = translate("cli.database_unreachable", lang, detail=detail)
    print(f"hyreka-amazon: {text}", file=sys.stderr)
    return EXIT_TEMPFAIL


def build_parser(chosen: Collection[str] | None = None) -> TopLevelParser:
    """The parser of every command. ``chosen``: only these commands' modules are imported and
    their parsers built; the others are known by name (and help) only."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the host's data folder (default: $HYREKA_AMAZON_DATA or a per-user folder)",
    )
    common.add_argument(
        "--database",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="a postgresql:// URL to keep the host's data in (default: $HYREKA_AMAZON_DATABASE, "
        "else SQLite in the data folder; the key stays in the data folder or environment)",
    )
    common.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS,
        help=f"language of messages (default: ${LANG_ENV} or {DEFAULT_LOCALE})",
    )
    common.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also show retries and HTTP requests (without secrets or personal data)",
    )
    parser = TopLevelParser(
        prog="hyreka-amazon",
        description="Amazon connector of the Hyreka Warenwirtschaft: reference host.",
        parents=[common],
    )
    parser.add_argument("--version", action=VersionAction, help="show the version and exit")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser
    )
    wanted = None if chosen is None else {COMMANDS.get(c) or c for c in chosen}
    built: set[str] = set()
    for command, module_name in COMMANDS.items():
        if wanted is not None and (module_name or command) not in wanted:
            # known by its name and its help text (the catalog's), so the top level's help and
            # argparse's "invalid choice" list every command
            sub.add_parser(command, parents=[common], add_help=False, help=command)
        elif module_name is None:
            add_own_command(sub, common, command)
        elif module_name not in built:  # a module registers all its commands at once
            built.add(module_name)
            module = importlib.import_module(f"{COMMAND_PACKAGE}.{module_name}")
            cast(CommandModule, module).add_commands(sub, common)
    return parser


class TopLevelParser(argparse.ArgumentParser):
    """The top level's parser: its help names the console's buttons in the run's language
    (``language``), as the console shows them (the connector's action labels, looked up only
    when the help is printed)."""

    language: str = DEFAULT_LOCALE

    def format_help(self) -> str:
        from hyreka_plugin_amazon.refhost.services import accounts

        cli_i18n.name_buttons(self, accounts.connector_info().actions, self.language)
        return super().format_help()


class VersionAction(argparse.Action):
    """``--version``: the installed distribution's version, looked up when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from importlib import metadata

        print(f"{parser.prog} {metadata.version(DISTRIBUTION)}")
        parser.exit()


def add_own_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    command: str,
) -> None:
    """Register one of this module's commands."""
    if command == "demo":
        demo = sub.add_parser(
            "demo", parents=[common], help="run the whole flow against the embedded simulator"
        )
        demo.add_argument("--orders", type=int, default=60, help="orders the simulator generates")
        demo.add_argument("--seed", type=int, default=7)
        demo.set_defaults(func=cmd_demo)
    elif command == "simulator":
        from hyreka_plugin_amazon.simulator import cli as simulator_cli

        sim = sub.add_parser("simulator", parents=[common], help="run the SP-API simulator")
        simulator_cli.add_arguments(sim)
        sim.set_defaults(func=simulator_cli.run)
    elif command == "test-login":
        login = sub.add_parser("test-login", parents=[common], help='"{button}"')
        login.add_argument("name")
        login.set_defaults(func=cmd_test_login)
    elif command == "sync":
        sync = sub.add_parser("sync", parents=[common], help='"{button}": import open orders')
        sync.add_argument("name")
        sync.set_defaults(func=cmd_sync)
    elif command == "import-report":
        imp = sub.add_parser(
            "import-report",
            parents=[common],
            help="import an order report downloaded by hand from Seller Central",
        )
        imp.add_argument("file", type=Path)
        imp.add_argument("--account")
        imp.add_argument("--charset", help="the file's encoding (default: detected)")
        imp.add_argument("--dry-run", action="store_true", help="read and check, store nothing")
        imp.add_argument("--json", action="store_true")
        imp.set_defaults(func=cmd_import_report)


# ------------------------------------------------------------------------------ commands


class CommandModule(Protocol):
    """A module of commands: registers them (and their ``func``) on the parser."""

    def add_commands(
        self,
        sub: argparse._SubParsersAction[argparse.ArgumentParser],
        common: argparse.ArgumentParser,
    ) -> None: ...


def cmd_test_login(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.services import runs

    with open_host(args) as host:
        result = runs.login_test(host, args.name, lang=args.lang)
    status = translate("cli.ok" if result.ok else "cli.failed", args.lang)
    print(f"{status}: {printable(result.message)}")
    for warning in result.warnings:
        print(f"  ! {printable(warning)}")
    return 0 if result.ok else 1


def cmd_sync(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.services import runs

    display = ProgressDisplay(sys.stderr, args.lang)
    with open_host(args) as host:
        wait = runs.pacing(host, args.name)
        if wait is not None:  # say when a sync is useful; a command asked for runs anyway
            from hyreka_plugin_amazon.refhost.i18n import formatting

            zone = formatting.seller_zone()
            ended = formatting.local_time(wait.last_ended, args.lang, zone)
            useful = formatting.local_time(wait.next_useful, args.lang, zone)
            why = translate(f"web.pacing.{wait.reason}", args.lang, ended=ended, next=useful)
            print(translate("cli.sync_paced", args.lang, why=why), file=sys.stderr)
        try:  # in the run's language; the account keeps the seller's (background syncs speak it)
            result = runs.sync(host, args.name, lang=args.lang, on_progress=display)
        finally:
            display.close()
    print_sync_result(result, sys.stdout, args.lang)
    return 0 if result.ok else 1


def cmd_import_report(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.services import maintenance, opening

    if not args.file.is_file():
        raise CliError(say("cli.file_missing", args.lang, file=args.file))
    with contextlib.ExitStack() as stack:
        if args.dry_run and args.account is None and not has_store(args):
            # reading needs no store: a throw-away one, so no data folder or key is created
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hyreka-")))
            host = stack.enter_context(opening.open_folder(folder))
        else:
            host = stack.enter_context(open_host(args))
        report, counts = maintenance.import_report(
            host, args.file, account_name=args.account, charset=args.charset, dry_run=args.dry_run
        )
    if args.json:
        payload: dict[str, Any] = {
            "orders": [o.as_dict() for o in report.orders],
            "errors": [
                {"row": p.row, "column": p.column, "reason": p.reason} for p in report.problems
            ],
            "warnings": [warning.get(args.lang, "") for warning in report.warnings],
        }
        print(json_text(payload))
        return 0
    lang = args.lang
    print(
        say(
            "cli.import_read",
            lang,
            file=args.file.name,
            layout=report.layout,
            charset=report.charset,
            orders=plural("cli.orders", len(report.orders), lang),
            errors=plural("cli.n.failed_rows", len(report.problems), lang),
            duplicates=plural("cli.n.duplicates", report.duplicates_skipped, lang),
        )
    )
    for problem in report.problems:
        print("  " + _problem_line(problem.row, problem.column, problem.seller_text(lang), lang))
    for warning in report.warnings:
        print(f"  ! {warning.get(lang, '')}")
    if not args.dry_run:
        print(translate("cli.import_stored", lang, **counts))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.contract import OrderStatus
    from hyreka_plugin_amazon.refhost.cli.orderlist import print_orders
    from hyreka_plugin_amazon.refhost.services import accounts, opening, runs
    from hyreka_plugin_amazon.refhost.services import orders as order_reads
    from hyreka_plugin_amazon.refhost.services.accounts import AccountForm
    from hyreka_plugin_amazon.simulator import Simulator

    lang, out = args.lang, sys.stdout
    marketplaces = ("DE", "FR", "IT")
    names = ", ".join(marketplaces)
    print(translate("cli.demo_start", lang, orders=args.orders, marketplaces=names), file=out)
    with (
        Simulator(
            orders=args.orders, seed=args.seed, marketplaces=marketplaces, report_delay_s=1
        ) as sim,
        tempfile.TemporaryDirectory(prefix="hyreka-demo-") as tmp,
    ):
        # a throw-away store: its own key, and SQLite even when HYREKA_AMAZON_DATABASE is set
        skip = {"HYREKA_AMAZON_KEY", "HYREKA_AMAZON_DATABASE"}
        env = {k: v for k, v in os.environ.items() if k not in skip}
        with opening.open_folder(Path(tmp), env=env) as host:
            creds = sim.credentials
            info = accounts.connector_info(host)
            codes_of = accounts.marketplace_codes(info)
            demo = AccountForm(
                name="demo",
                values={
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                    "refresh_token": creds.refresh_token,
                    "region": "eu",
                    "marketplaces": list(marketplaces),
                },
                settings={"report_check_seconds": "0.5", "report_check_max_seconds": "1"},
                endpoint=sim.url,
                token_url=sim.token_url,
                connector=info.id,
            )
            accounts.add(host, demo, locale=lang)
            print(translate("cli.demo_account", lang, folder=tmp), file=out)
            login = runs.login_test(host, "demo", lang=lang)
            status = translate("cli.ok" if login.ok else "cli.failed", lang)
            print(say("cli.demo_login", lang, status=status, message=login.message), file=out)
            if not login.ok:
                return 1
            display = ProgressDisplay(sys.stderr, lang)
            try:
                result = runs.sync(host, "demo", lang=lang, on_progress=display)
            finally:
                display.close()
            orders = order_reads.listing(host, account_name="demo").orders
        print(file=out)
        print_orders(orders, out, lang, marketplace_code=codes_of)
        print(file=out)
        print_sync_result(result, out, lang)
        truth = sum(  # Amazon ships FBA orders: open for the seller are the seller's own
            1
            for o in sim.ground_truth()
            if o["status"] == "open" and o["fulfillment_channel"] == "MFN"
        )
        held = sum(1 for o in orders if o.status is OrderStatus.OPEN)
        print(translate("cli.demo_truth", lang, truth=truth, host=held), file=out)
    return 0 if result.ok else 1


# ------------------------------------------------------------------------------ output


def print_sync_result(result: SyncResult, out: TextIO, lang: str = DEFAULT_LOCALE) -> None:
    """The seller's message (the summary), warnings and problems, then what the message does
    not say: orders waiting for payment (not imported yet) and the requests to Amazon."""
    print(printable(result.message), file=out)
    for warning in result.warnings:
        print(f"  ! {printable(warning)}", file=out)
    for problem in result.problems[:MAX_PROBLEMS_SHOWN]:
        line = _problem_line(
            problem.row,
            problem.column,
            problem.seller_text(lang),
            lang,
            order=problem.amazon_order_id,
        )
        print(f"  {line}", file=out)
    if len(result.problems) > MAX_PROBLEMS_SHOWN:
        hidden = len(result.problems) - MAX_PROBLEMS_SHOWN
        print("  " + translate("cli.more_problems", lang, count=hidden), file=out)
    print(summary_line(result, lang), file=out)


def summary_line(result: SyncResult, lang: str = DEFAULT_LOCALE) -> str:
    """Waiting orders and requests to Amazon, in the seller's words (no operation names)."""
    return plural("cli.summary", result.waiting, lang, calls=result.total_api_calls)


class ProgressDisplay:
    """A sync's progress on ``out``: an updating bar on a terminal, plain lines otherwise.

    The connector's ``Progress.message`` is already in the seller's language (which report,
    its state); this adds the step's name, the bytes downloaded and the orders taken over.
    Plain lines show the first and the last report of each step, so a download or an import
    shows where it started and where it ended without a line per chunk.
    """

    BAR = 20  # characters of the bar on a terminal

    def __init__(self, out: TextIO, lang: str, *, tty: bool | None = None) -> None:
        self._out = out
        self._lang = lang
        self._tty = out.isatty() if tty is None else tty
        self._step: tuple[str, str] | None = None
        self._pending: str | None = None  # the step's latest text, not yet printed
        self._width = 0  # of the updating line on a terminal

    def __call__(self, progress: Progress) -> None:
        text = self.describe(progress)
        if self._tty:
            line = f"{self.bar(progress)} {text}"
            shown = line[: max(20, shutil.get_terminal_size().columns - 1)]
            self._out.write("\r" + shown + "\x1b[K")
            self._out.flush()
            self._width = len(shown)
            return
        step = (progress.phase, progress.message)
        if step == self._step:
            self._pending = text
            return
        self._flush()
        self._step = step
        self._out.write(text + "\n")
        self._out.flush()

    def close(self) -> None:
        """End the display: the terminal line stays, a pending plain line is printed."""
        if self._tty:
            if self._width:
                self._out.write("\n")
                self._out.flush()
            return
        self._flush()

    def describe(self, progress: Progress) -> str:
        label = translate(f"cli.phase.{progress.phase}", self._lang)
        if progress.phase in ("done", "requesting"):
            return label
        if progress.phase == "importing":
            count = {"done": progress.done, "total": progress.total}
            if progress.total:
                return label + ": " + translate("cli.progress.orders_of", self._lang, **count)
            return label + ": " + translate("cli.progress.orders", self._lang, **count)
        text = f"{label}: {printable(progress.message)}"
        if progress.phase == "downloading" and progress.done:
            text += f" – {_size(progress.done, self._lang)}"
        return text

    def bar(self, progress: Progress) -> str:
        """``[########............]``: the share done when the total is known, else a
        moving mark."""
        if progress.phase == "done":
            filled = self.BAR
        elif progress.total:
            filled = min(self.BAR, self.BAR * progress.done // progress.total)
        else:
            mark = (progress.done // 65536 if progress.done else 0) % self.BAR
            return "[" + "." * mark + "#" + "." * (self.BAR - mark - 1) + "]"
        return "[" + "#" * filled + "." * (self.BAR - filled) + "]"

    def _flush(self) -> None:
        if self._pending is not None:
            self._out.write(self._pending + "\n")
            self._out.flush()
            self._pending = None


# ------------------------------------------------------------------------------ helpers


def _problem_line(
    row: int | None, column: str | None, reason: str, lang: str, *, order: str | None = None
) -> str:
    where = {"row": "-" if row is None else row, "column": f" [{column}]" if column else ""}
    if order is None:
        return say("cli.row_error", lang, reason=reason, **where)
    return say("cli.problem", lang, order=order, reason=reason, **where)


def _log_to_stderr(*, verbose: bool) -> None:
    """Log lines (retries, HTTP requests) on stderr only with ``--verbose``; otherwise the
    connector's and urllib3's records reach no handler of ours (nor Python's last resort),
    so they never break into the progress display."""
    for name in ("hyreka_plugin_amazon", "urllib3"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
    if verbose and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )


def _size(count: int, lang: str = DEFAULT_LOCALE) -> str:
    if count < 1024:
        text = f"{count} B"
    elif count < 1024 * 1024:
        text = f"{count / 1024:.0f} KB"
    else:
        text = f"{count / (1024 * 1024):.1f} MB"
    return text.replace(".", ",") if lang == "de" else text


def _field_or_none(info: ConnectorInfo, key: str) -> AccountField | None:
    try:
        return info.account_field(key)
    except LookupError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
