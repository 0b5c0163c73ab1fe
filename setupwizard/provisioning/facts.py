"""What the engine learns about a server right after login, in one round trip.

One short script (no PTY, no sudo password) prints the SSH connection's server-side port, the
os-release text, the login user's uid and groups, whether systemd runs as PID 1 (``/run/systemd/system``, as
``sd_booted()`` checks), the TCP ports something listens on (``ss -Hltn``; ``/proc/net/tcp*`` without
``ss``), whether sudo is installed and what ``sudo -n true`` says.
The connect and sudo steps (and the connection test) read these instead of asking one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from setupwizard.provisioning.remote import Remote

_SEPARATOR = "--- setupwizard:"
FACTS_SCRIPT = (
    f'echo "{_SEPARATOR}ssh"; printf "%s\\n" "$SSH_CONNECTION"; '
    f'echo "{_SEPARATOR}os"; cat /etc/os-release 2>/dev/null; '
    f'echo "{_SEPARATOR}uid"; id -u; '
    f'echo "{_SEPARATOR}groups"; id -nG; '
    f'echo "{_SEPARATOR}systemd"; [ -d /run/systemd/system ] && echo yes || echo no; '
    f'echo "{_SEPARATOR}listen"; '
    "if command -v ss >/dev/null 2>&1; then ss -Hltn 2>/dev/null | awk '{print $4}'; "
    'else awk \'$4 == "0A" {print "hex:" $2}\' /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi; '
    f'echo "{_SEPARATOR}sudo"; '
    'if [ "$(id -u)" != 0 ]; then '
    "if command -v sudo >/dev/null 2>&1; then "
    'out=$(sudo -n true 2>&1); echo "status=$?"; printf "%s\\n" "$out"; '
    "else echo no-sudo; fi; fi"
)


SUDO_GROUPS = frozenset({"sudo", "wheel", "admin"})


@dataclass(frozen=True)
class HostFacts:
    """The server as the login user sees it.

    ``sudo_n_status`` is the exit status of ``sudo -n true`` (None for root or without sudo).
    ``systemd``: PID 1 is systemd (None: not reported). ``listening``: the TCP ports in LISTEN state.
    """

    ssh_port: int | None
    os_release: str
    uid: str
    has_sudo: bool
    sudo_n_status: int | None
    sudo_n_output: str
    systemd: bool | None = None
    listening: frozenset[int] = frozenset()
    groups: frozenset[str] = frozenset()

    @property
    def is_root(self) -> bool:
        """Logged in as root."""
        return self.uid == "0"

    @property
    def in_sudo_group(self) -> bool:
        """The login user is in a group that Debian's (``sudo``), RHEL's (``wheel``) or old Ubuntu's
        (``admin``) sudoers lets run anything."""
        return bool(self.groups & SUDO_GROUPS)


def parse_facts(text: str) -> HostFacts:
    """Parse the output of :data:`FACTS_SCRIPT`."""
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_SEPARATOR):
            current = parts.setdefault(line[len(_SEPARATOR) :].strip(), [])
        elif current is not None:
            current.append(line)
    fields = " ".join(parts.get("ssh", [])).split()
    port = int(fields[3]) if len(fields) == 4 and fields[3].isdigit() else None
    uid = " ".join(parts.get("uid", [])).strip()
    sudo = parts.get("sudo", [])
    status: int | None = None
    output: list[str] = []
    if sudo and sudo[0].startswith("status="):
        code = sudo[0][len("status=") :]
        status = int(code) if code.isdigit() else None
        output = sudo[1:]
    systemd_said = " ".join(parts.get("systemd", [])).strip()
    return HostFacts(
        ssh_port=port,
        os_release="\n".join(parts.get("os", [])),
        uid=uid,
        has_sudo=uid == "0" or not (sudo and sudo[0] == "no-sudo"),
        sudo_n_status=status,
        sudo_n_output="\n".join(output),
        systemd={"yes": True, "no": False}.get(systemd_said),
        listening=frozenset(_listening(parts.get("listen", []))),
        groups=frozenset(" ".join(parts.get("groups", [])).split()),
    )


def _listening(lines: list[str]) -> list[int]:
    """Ports from ``ss``'s local address column (``0.0.0.0:22``, ``[::]:22``, ``*:80``) or, without
    ``ss``, from /proc/net/tcp's hex ``local_address`` (``hex:00000000:0016``)."""
    ports: list[int] = []
    for line in lines:
        text = line.strip()
        if text.startswith("hex:"):
            tail = text.rpartition(":")[2]
            if tail and all(c in "0123456789abcdefABCDEF" for c in tail):
                ports.append(int(tail, 16))
            continue
        tail = text.rpartition(":")[2]
        if tail.isdigit():
            ports.append(int(tail))
    return ports


async def read_facts(remote: Remote) -> HostFacts:
    """Run :data:`FACTS_SCRIPT` once (no PTY) and parse it."""
    _, text = await remote.capture(FACTS_SCRIPT)
    return parse_facts(text)
