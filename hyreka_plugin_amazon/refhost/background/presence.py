"""Whether a poller or worker runs: kept in ``services.presence`` (the status a seller reads
asks it); here for the poller and the commands that hold or test it."""

from hyreka_plugin_amazon.refhost.services.presence import (
    POLLER_LOCK,
    WORKER_SILENCE_S,
    hold_poller_presence,
    poller_running,
    workers_alive,
)

__all__ = [
    "POLLER_LOCK",
    "WORKER_SILENCE_S",
    "hold_poller_presence",
    "poller_running",
    "workers_alive",
]
