import sys
from pathlib import Path

# The dashboard's browser test drives a real hub with the hub tests' helpers.
sys.path.insert(0, str(Path(__file__).parents[1] / "alerts" / "hub"))
# ... and the other browser tests reuse the first one's sign-in and browser settings.
sys.path.insert(0, str(Path(__file__).parent))
