"""The command line's own texts in the run's language: help texts and argparse's words.

The language is chosen before argparse runs (``--lang`` anywhere in argv, else the
environment, see ``texts.language_from_environment``). Help texts stay English in the code;
``translate_parser`` replaces each with the host text ``help.<command path>.<dest>`` (an
option every command has: ``help.*.<dest>``; a command's own help: ``help.<command path>``;
its description: ``help.<path>.description``, its epilog: ``help.<path>.epilog``) when the
catalog has one, so a command
module needs no change to be translated.
argparse's own words ("usage:", "options", its errors) come from the catalog too, under
``argparse:<English text>``.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from hyreka_plugin_amazon.refhost.i18n.texts import (
    LANGUAGES,
    catalog,
    language_from_environment,
    translate,
)

ARGPARSE_PREFIX = "argparse:"
# Commands that press a button of the console: their help names it as the console does (the
# connector's action labels, ``ConnectorInfo.actions``), filled into ``{button}``.
BUTTONS: Final = {"test-login": "test_login", "sync": "sync_orders", "ship": "confirm_shipments"}
_PARSING: contextvars.ContextVar[str] = contextvars.ContextVar("hyreka_cli_language")


def parsing_language() -> str:
    """The language argparse speaks now: for the messages of ``type=`` functions."""
    return _PARSING.get(language_from_environment())


def non_negative(text: str) -> int:
    """A ``type=`` for counts: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            translate("cli.arg.not_whole", parsing_language(), value=text)
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(translate("cli.arg.negative", parsing_language()))
    return value


def language_of(argv: Sequence[str], env: Mapping[str, str] = os.environ) -> str:
    """The run's language: the last ``--lang X`` / ``--lang=X`` in argv, else the
    environment's."""
    chosen = language_from_environment(env)
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv) and argv[index + 1] in LANGUAGES:
            chosen = argv[index + 1]
        elif arg.startswith("--lang=") and arg[len("--lang=") :] in LANGUAGES:
            chosen = arg[len("--lang=") :]
    return chosen


def translate_parser(parser: argparse.ArgumentParser, lang: str, path: str = "help") -> None:
    """Replace help texts and descriptions of ``parser`` and its subcommands with the
    catalog's, where it has them."""
    texts = catalog(lang)
    parser.description = texts.get(f"{path}.description", parser.description)
    if parser.epilog:
        parser.epilog = texts.get(f"{path}.epilog", parser.epilog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = texts.get(f"{path}.{choice.dest}", choice.help)
            for name, sub in action.choices.items():
                translate_parser(sub, lang, f"{path}.{name}")
        elif action.help not in (None, argparse.SUPPRESS):
            own = texts.get(f"{path}.{action.dest}")  # else the text every command shares
            action.help = own or texts.get(f"help.*.{action.dest}", action.help)


@contextlib.contextmanager
def argparse_words(lang: str) -> Iterator[None]:
    """argparse speaks ``lang`` meanwhile (its ``_`` and ``ngettext``)."""
    texts = catalog(lang)

    def gettext(message: str) -> str:
        return texts.get(ARGPARSE_PREFIX + message, message)

    def ngettext(singular: str, plural: str, count: int) -> str:
        return gettext(singular if count == 1 else plural)

    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = gettext, ngettext  # type: ignore[attr-defined]
    token = _PARSING.set(lang)
    try:
        yield
    finally:
        _PARSING.reset(token)
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def name_buttons(
    parser: argparse.ArgumentParser, labels: Mapping[str, Mapping[str, str]], lang: str
) -> None:
    """Fill the console's button names (``labels``: action -> language -> label, the
    connector's ``ConnectorInfo.actions``) into the help texts of the commands that press
    them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                button = BUTTONS.get(choice.dest)
                if button is None or not choice.help or "{button}" not in choice.help:
                    continue
                label = labels.get(button, {})
                choice.help = choice.help.replace("{button}", label.get(lang) or button)
