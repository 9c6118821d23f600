import functools
import sys
from pathlib import Path

import pytest

# The helpers of the hub's tests live in `hub_testkit` beside this file (see tests/alerts/conftest.py).
sys.path.insert(0, str(Path(__file__).parent))

from hub_testkit import hub_with_upstream  # importable once the path is set, above


@pytest.fixture
def hub_env(mosquitto, mqtt_root, tmp_path):
    """`async with hub_env(**settings) as (hub, up)`: a hub on the test's broker and topic
    root, and the processor's side of the broker (`Upstream`)."""
    return functools.partial(hub_with_upstream, mosquitto, mqtt_root, tmp_path)
