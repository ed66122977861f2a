"""Registers the TestCfg* calculators of cfg_helpers before any test of this folder runs."""

import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:  # also under --import-mode=importlib
    sys.path.insert(0, str(Path(__file__).parent))

import cfg_helpers  # noqa: E402,F401
