import sys
from pathlib import Path

# pytest's importlib import mode does not put test folders on sys.path, and tests/ has no
# packages (an `alerts` test package would shadow the real one): make the shared helper
# module `alerts_testkit` importable.
sys.path.insert(0, str(Path(__file__).parent))
