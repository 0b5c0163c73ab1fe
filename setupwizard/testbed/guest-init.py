"""PID 1 of a test host (runs inside the host's root with the host's own python3).

Starts sshd the way a Debian system without systemd does (/etc/init.d/ssh start, so
`service ssh restart` inside the host behaves as on a real server and keeps open sessions), then reaps
every orphan. Like a real init it does not die from signals sent inside the host; the testbed stops a
host by killing it from outside.
"""

import os
import signal
import subprocess
import sys
import time


def ignore(signum: int, frame: object) -> None:
    """Handlers (unlike SIG_IGN) are reset on exec, so children get default signal handling."""


for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(number, ignore)

started = subprocess.run(["/etc/init.d/ssh", "start"], check=False)
print(f"testbed init: /etc/init.d/ssh start exited {started.returncode}", flush=True)
if started.returncode != 0:
    sys.exit(started.returncode)

while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.5)
