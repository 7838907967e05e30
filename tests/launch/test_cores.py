"""Worker thread pools are sized from the cores the process may use, not the machine's."""

import os
import subprocess
import sys

import pytest

from simgen.launch.local import available_cores


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_available_cores_follows_the_affinity_mask():
    assert available_cores() == len(os.sched_getaffinity(0))
    code = "from simgen.launch.local import available_cores; print(available_cores())"
    one = sorted(os.sched_getaffinity(0))[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         preexec_fn=lambda: os.sched_setaffinity(0, {one}))
    assert out.stdout.strip() == "1"
