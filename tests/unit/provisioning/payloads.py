"""Shell- and option-injection payloads, each aimed at creating /tmp/pwned."""

from __future__ import annotations

from typing import Any

from setupwizard.provisioning import SetupOptions, Target

PWNED = "/tmp/pwned"
PAYLOADS = [
    f"x; touch {PWNED}",
    f"$(touch {PWNED})",
    f"`touch {PWNED}`",
    f"-oProxyCommand=touch {PWNED}",
    "--help",
    f"a\ntouch {PWNED}",
    f"x' ; touch {PWNED}; '",
    f"|touch {PWNED}",
    f"&& touch {PWNED}",
    f"80 && touch {PWNED}",
]


def injected(field: str, payload: Any, host: str = "198.18.0.99") -> tuple[Target, SetupOptions]:
    """A target and options that are valid except for ``payload`` in ``field``."""
    target: dict[str, Any] = {"host": host, "username": "root", "password": "pw"}
    options: dict[str, Any] = {"packages": ["ufw"], "firewall_ports": ["80/tcp"]}
    if field in ("packages", "firewall_ports"):
        options[field] = ["ufw" if field == "packages" else "443", payload]
    elif field == "script":
        options["script"] = f"echo hi\0{payload}"
    else:
        target[field] = payload
    return Target(**target), SetupOptions(**options)


FIELDS = ["host", "port", "username", "packages", "firewall_ports", "host_key_fingerprint", "private_key"]
