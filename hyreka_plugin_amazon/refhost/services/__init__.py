"""The one door: every action a seller can take and every read of the host's data, for every
face (the CLI, the console, the background poller and workers).

Each action checks its input once (the connector's ``SettingInfo``, the marketplaces of the
region, names), writes its audit entry once, refuses to destroy data unless confirmed
(``NeedsConfirmation``: the face asks in its own way) and returns a result the face renders.
Errors are ``ServiceError``: a host text id with its values, worded by the face in the
language of its run or request. That language is passed per call and never stored with the
account (the connector gets an account copy with that ``locale`` for the call).

Modules: ``opening`` (the host of a data folder), ``accounts``, ``orders`` (pages, exports,
an order with its packages), ``runs`` (test login, sync), ``shipping``, ``problems``,
``maintenance`` (purge, key rotation, report import), ``polling`` (the accounts' polling
status), ``errors`` and ``auditing``.
"""
