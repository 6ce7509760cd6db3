"""``asyncfix --apply --migrate`` and plain ``--apply`` on ``tests/migrate_apps/tutorial``.

The cases are in ``tests/migrate_helpers.py`` (its docstring says what each checks); this file
runs those that hold for this app, so pytest-xdist runs each app on a worker of its own.
"""

import pytest
from migrate_helpers import (  # noqa: F401 (fixtures and cases collected here)
    TUTORIAL,
    baseline,
    for_app,
    migrated,
    plain,
    test_migrate_exits_without_failures,
    test_migrate_is_a_fixed_point,
    test_migrate_leaves_no_sync_session_in_app_code,
    test_migrated_app_suite_passes,
    test_plain_apply_keeps_sync_defs,
    test_plain_apply_suite_passes,
    test_scan_finds_the_sync_sqlalchemy_of_the_sync_app,
    test_sync_app_suite_passes,
)

# The app's suite runs up to three times in a subprocess, with asyncfix runs between: minutes.
pytestmark = pytest.mark.slow

pytest_generate_tests = for_app(TUTORIAL)
