"""Shared pytest configuration: hypothesis profiles for the property-based tests.

``normal`` (default) keeps the property suite at a few seconds per test; set
``CRLIB_HYPOTHESIS_PROFILE=thorough`` for a 25x larger search.  Both are
derandomized (the examples are a fixed function of each test), so a run is
reproducible, and keep no example database on disk.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(derandomize=True, deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("normal", max_examples=40, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("CRLIB_HYPOTHESIS_PROFILE", "normal"))
