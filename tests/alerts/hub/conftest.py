import sys
from pathlib import Path

# The helpers of the hub's tests live in `hub_testkit` beside this file (see tests/alerts/conftest.py).
sys.path.insert(0, str(Path(__file__).parent))
