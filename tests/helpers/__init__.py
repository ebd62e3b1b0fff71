"""Plain helpers shared by the test modules (fixtures stay in ``tests/conftest.py``).

Test modules import from here, never from one another nor from ``conftest``:
``sim`` (an HTTP client for the simulator), ``accounts`` (host accounts on a simulator),
``spapi_fake`` (the SP-API client against pytest-httpserver), ``fault_harness`` (syncs on the
simulator's clock), ``gate`` (a host plugin that holds a running sync), ``memory_host``
(the connector's host services over dicts).
"""
