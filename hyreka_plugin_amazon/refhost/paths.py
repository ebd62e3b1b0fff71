"""Where the reference host keeps its data (database and key file)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

DATA_ENV = "HYREKA_AMAZON_DATA"
APP_DIR = "hyreka-amazon"


def data_dir(
    explicit: str | Path | None = None,
    env: Mapping[str, str] = os.environ,
    *,
    create: bool = True,
) -> Path:
    """The data folder: ``--data DIR``, else ``HYREKA_AMAZON_DATA``, else a per-user folder.

    The folder is created (mode 0700) when missing, unless ``create`` is false.
    """
    if explicit:
        path = Path(explicit).expanduser()
    elif env.get(DATA_ENV):
        path = Path(env[DATA_ENV]).expanduser()
    else:
        path = default_data_dir(env)
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def default_data_dir(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    """The per-user data folder of this platform (not created)."""
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    if platform == "win32":
        base = env.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / APP_DIR
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP_DIR
    xdg = env.get("XDG_DATA_HOME")
    # The XDG spec says to ignore a relative XDG_DATA_HOME.
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base_dir / APP_DIR
