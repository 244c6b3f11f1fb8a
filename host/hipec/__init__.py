"""Bedside software of the HIPEC perfusion controller: bridge, plans, record, reports and the emulator."""
from pathlib import Path

__version__ = "0.1.0"

# The repository root, where firmware/ and boards/ live (the emulator runs them from there).
REPO_ROOT = Path(__file__).resolve().parents[2]
