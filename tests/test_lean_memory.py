"""The classroom-hub memory setting: freed activation buffers go back to the system (glibc), where asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nst_helpers.runtime import lean_memory_wanted


@pytest.mark.parametrize(("env", "wanted"), [
    ({}, False),                                    # a laptop: keep the C library's faster default
    ({"JUPYTERHUB_USER": "student7"}, True),        # a kernel of a JupyterHub: memory is shared by a class
    ({"JUPYTERHUB_USER": "student7", "NST_LEAN_MEMORY": "0"}, False),
    ({"NST_LEAN_MEMORY": "1"}, True),
])
def test_lean_memory_is_on_in_a_hub_or_when_asked(monkeypatch, env, wanted):
    for name in ("JUPYTERHUB_USER", "NST_LEAN_MEMORY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert lean_memory_wanted() is wanted


CHILD = """
import torch
from nst_helpers.runtime import Runtime, return_freed_memory
Runtime.for_settings("cpu", "float32")
print(return_freed_memory())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's: Linux only")
@pytest.mark.parametrize(("value", "expected"), [("1", "True"), ("0", "False")])
def test_a_cpu_run_sets_the_allocator_once_per_process(value, expected):
    env = {"NST_LEAN_MEMORY": value, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split()[-1] == expected, out.stderr[-2000:]
