"""Amazon's report knowledge in one room.

``catalogue`` (report types: layout, restricted, billing columns, role), ``charsets`` (Amazon's
charset names -> Python codecs), ``reader`` (the header-checking flat-file reader), ``cells``
and ``rows`` (report cells, row schemas and row loading), ``addresses`` (the default address
mapping), ``orders`` (rows grouped into orders), ``statuses`` (the status report and the one
status mapping). This package imports nothing of the connector but the contract and
``spapi.regions``; ``spapi`` may import ``catalogue`` and ``charsets``.
"""
