"""bench/run as a module, for the other benchmark scripts: its build,
generation, staging and timing helpers (bench/run has no .py suffix, so it is
loaded by path)."""

import importlib.machinery
import importlib.util
from pathlib import Path


def load():
    path = Path(__file__).resolve().parent / "run"
    loader = importlib.machinery.SourceFileLoader("bench_run_script", str(path))
    spec = importlib.util.spec_from_loader("bench_run_script", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
