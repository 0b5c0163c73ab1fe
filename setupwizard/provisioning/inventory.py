"""Targets from text: ``user@host:port`` lines, or an Ansible INI inventory. Pure: no network, no database.

:func:`parse_inventory` reads either form (it tells them apart itself) and returns every target it could
read, every error (each naming its line and the problem) and every warning, so a person can fix all of
them at once. The CLI reads ``--inventory FILE`` with it; the fleet API can take a pasted text the same way.

**Host lines**: one target a line, ``[user@]host[:port]``; an IPv6 address with a port is written in
brackets (``[2001:db8::1]:2222``), a bare IPv6 address without; ``#`` starts a comment.

**Ansible INI** (the ``ansible.builtin.ini`` inventory plugin's format):

- ``[group]`` sections list hosts; hosts before any section are ungrouped;
- a host line is ``name [key=value …]`` (values may be quoted, ``#`` starts a comment); ``name`` may carry
  a port (``db.example.com:5309``); ``ansible_host``, ``ansible_port`` and ``ansible_user`` (or their older
  ``ansible_ssh_*`` names) say where and as whom to log in, other variables are ignored;
- ``[group:vars]`` sections hold one ``key=value`` a line for the hosts of that group (and of its child
  groups); ``[all:vars]`` for every host; a host's own variables win over its groups', a child group's over
  its parents', and a parent's over ``all``;
- ``[group:children]`` sections list groups whose hosts belong to ``group`` too;
- a host listed in several groups is one host. Host ranges (``web[01:50]``) are refused, naming the line.

Two entries reaching the same server (the same canonical address and port) are an error; so are secrets
(``ansible_password``, ``ansible_become_password``…): they are asked for at a prompt, never read from a file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from setupwizard.provisioning.address import canonical_host
from setupwizard.provisioning.errors import InvalidInputError
from setupwizard.provisioning.validate import check_host, check_username

HOST_VARS = ("ansible_host", "ansible_ssh_host")
PORT_VARS = ("ansible_port", "ansible_ssh_port")
USER_VARS = ("ansible_user", "ansible_ssh_user", "remote_user")
SECRET_VARS = frozenset(
    {
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
        "ansible_become_pass",
        "ansible_become_password",
        "ansible_sudo_pass",
        "ansible_sudo_password",
        "ansible_ssh_private_key_passphrase",
    }
)
_SECTION = re.compile(r"\[([A-Za-z_][A-Za-z0-9_-]*)(?::(vars|children))?\]")
_RANGE = re.compile(r"\[[^\]]*:[^\]]*\]")
_BRACKETED = re.compile(r"\[([^\]]+)\](?::(.*))?")


@dataclass(frozen=True)
class InventoryTarget:
    """One server to set up. ``port``/``username`` None: the caller's default (``--port``, ``--user``).

    :param name: how the inventory names it (the Ansible host name, or the line's host).
    :param line: the 1-based line it was read from.
    :param groups: the INI groups it belongs to (with its parent groups), in file order.
    """

    name: str
    host: str
    port: int | None = None
    username: str | None = None
    line: int = 0
    groups: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        """What makes two targets the same server (the default port counted as 22)."""
        return canonical_host(self.host), self.port or 22


@dataclass(frozen=True)
class InventoryProblem:
    """An error or a warning about one line."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Inventory:
    """What a text held: the targets in file order, and what was wrong with it."""

    targets: list[InventoryTarget] = field(default_factory=list)
    errors: list[InventoryProblem] = field(default_factory=list)
    warnings: list[InventoryProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error (warnings allowed)."""
        return not self.errors


def parse_inventory(text: str) -> Inventory:
    """Targets from ``text``: an Ansible INI inventory when it has a ``[group]`` header or a ``key=value``
    host variable, else ``user@host:port`` lines."""
    return parse_ansible_ini(text) if looks_like_ini(text) else parse_host_lines(text)


def looks_like_ini(text: str) -> bool:
    """True when a line is a section header or carries a ``key=value`` variable."""
    for raw in text.splitlines():
        line = raw.strip()
        if _SECTION.fullmatch(line) or ("=" in line and not line.startswith(("#", ";"))):
            return True
    return False


def parse_host_lines(text: str) -> Inventory:
    """One ``[user@]host[:port]`` a line (``#`` comments and blank lines skipped)."""
    inventory = Inventory()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) > 1:
            inventory.errors.append(InventoryProblem(number, f"one host a line, found {line!r}"))
            continue
        try:
            inventory.targets.append(parse_host_spec(line, number, name=line))
        except ValueError as exc:
            inventory.errors.append(InventoryProblem(number, str(exc)))
    report_duplicates(inventory)
    return inventory


def parse_host_spec(spec: str, line: int = 0, name: str | None = None) -> InventoryTarget:
    """``[user@]host[:port]`` as a target; an IPv6 address with a port in brackets.

    :raises ValueError: naming the problem (the host, the port or the user).
    """
    username: str | None = None
    if "@" in spec:
        username, spec = spec.rsplit("@", 1)
        _check_user(username)
    host, port = _split_port(spec)
    _check_host(host)
    return InventoryTarget(name=name or host, host=host, port=port, username=username, line=line)


def _split_port(spec: str) -> tuple[str, int | None]:
    bracketed = _BRACKETED.fullmatch(spec)
    if bracketed:
        return bracketed.group(1), None if bracketed.group(2) is None else _port(bracketed.group(2))
    if spec.count(":") == 1:
        host, port = spec.split(":")
        return host, _port(port)
    return spec, None  # a name, an IPv4 address, or an IPv6 address without a port


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def _check_host(host: str) -> None:
    if not host:
        raise ValueError("no host")
    try:
        check_host(host)
    except InvalidInputError as exc:
        reason = exc.said.text("en") if exc.said is not None else exc.field
        raise ValueError(f"host {host!r}: {reason}") from None


def _check_user(username: str) -> None:
    try:
        check_username(username)
    except InvalidInputError:
        raise ValueError(f"user {username!r} is not a valid login name") from None


@dataclass
class _Host:
    name: str
    line: int
    variables: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)


@dataclass
class _IniState:
    hosts: dict[str, _Host] = field(default_factory=dict)
    group_vars: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # parent -> child groups
    groups: list[str] = field(default_factory=list)  # every group named, in file order


def parse_ansible_ini(text: str) -> Inventory:
    """Targets from an Ansible INI inventory (see the module's docstring for what is read)."""
    inventory = Inventory()
    state = _IniState()
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and (line.endswith("]") or not _BRACKETED.fullmatch(line.split()[0])):
            # as Ansible reads it: a section, or an error ("[2001:db8::1]:22 …" is a host)
            section = _SECTION.fullmatch(line)
            if section is None:
                inventory.errors.append(InventoryProblem(number, f"{line} is not a valid section header"))
                group, kind = "", "invalid"
                continue
            group, kind = section.group(1), section.group(2) or "hosts"
            if group not in state.groups:
                state.groups.append(group)
            continue
        try:
            if kind == "hosts":
                _read_host_line(state, group, line, number, inventory)
            elif kind == "vars":
                _read_var_line(state, group, line, number, inventory)
            elif kind == "children":
                _read_child_line(state, group, line)
        except ValueError as exc:
            inventory.errors.append(InventoryProblem(number, str(exc)))
    for host in state.hosts.values():
        try:
            inventory.targets.append(_resolve(state, host))
        except ValueError as exc:
            said = str(exc)
            prefix = "" if said.startswith(f"host {host.name!r}") else f"host {host.name}: "
            inventory.errors.append(InventoryProblem(host.line, prefix + said))
    inventory.errors.sort(key=lambda problem: problem.line)
    report_duplicates(inventory)
    return inventory


def _read_host_line(state: _IniState, group: str, line: str, number: int, inventory: Inventory) -> None:
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        raise ValueError(f"cannot read the line ({exc})") from None
    if not words:
        return
    name, assignments = words[0], words[1:]
    if _RANGE.search(name) and not _BRACKETED.fullmatch(name):
        raise ValueError(f"host ranges such as {name} are not supported: list the hosts one a line")
    variables: dict[str, str] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise ValueError(f"{assignment!r} is not key=value")
        _check_var(key, number, inventory)
        variables[key] = value
    host = state.hosts.get(name)
    if host is None:
        host = state.hosts[name] = _Host(name, number)
    elif group in host.groups or group == "ungrouped":
        raise ValueError(f"host {name} is listed twice (first on line {host.line})")
    host.variables.update(variables)
    if group != "ungrouped":
        host.groups.append(group)


def _read_var_line(state: _IniState, group: str, line: str, number: int, inventory: Inventory) -> None:
    key, sep, value = line.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or " " in key:
        raise ValueError(f"{line!r} is not key=value (a [{group}:vars] section has one a line)")
    _check_var(key, number, inventory)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    state.group_vars.setdefault(group, {})[key] = (value, number)


def _read_child_line(state: _IniState, group: str, line: str) -> None:
    child = line.split("#", 1)[0].strip()
    if not _SECTION.fullmatch(f"[{child}]") or ":" in child:
        raise ValueError(f"{child!r} is not a group name")
    state.children.setdefault(group, []).append(child)
    if child not in state.groups:
        state.groups.append(child)


def _check_var(key: str, number: int, inventory: Inventory) -> None:
    if key in SECRET_VARS:
        raise ValueError(f"{key} holds a secret: give it at the prompt (or --password-stdin), not in a file")
    known = key in HOST_VARS or key in PORT_VARS or key in USER_VARS
    if key.startswith("ansible_") and not known:
        inventory.warnings.append(InventoryProblem(number, f"{key} is ignored"))


def _ancestors(state: _IniState, group: str) -> list[str]:
    """``group``'s parent groups, nearest first (a cycle is cut where it closes)."""
    found: list[str] = []
    frontier = [group]
    while frontier:
        child = frontier.pop(0)
        for parent, kids in state.children.items():
            if child in kids and parent not in found and parent != group:
                found.append(parent)
                frontier.append(parent)
    return found


def _resolve(state: _IniState, host: _Host) -> InventoryTarget:
    """The host's variables after precedence: all < parents < its groups < its own line."""
    layers: list[str] = ["all"]
    groups: list[str] = []
    for group in host.groups:
        for parent in reversed(_ancestors(state, group)):
            if parent not in groups:
                groups.append(parent)
        if group not in groups:
            groups.append(group)
    layers.extend(groups)
    merged: dict[str, tuple[str, int]] = {}
    for layer in layers:
        merged.update(state.group_vars.get(layer, {}))
    merged.update({key: (value, host.line) for key, value in host.variables.items()})
    address = next((merged[k][0] for k in HOST_VARS if k in merged), None)
    port_text = next((merged[k] for k in PORT_VARS if k in merged), None)
    user = next((merged[k][0] for k in USER_VARS if k in merged), None)
    if address is None:
        spec = parse_host_spec(host.name, host.line)
        address, port = spec.host, spec.port
        own_user = next((host.variables[k] for k in USER_VARS if k in host.variables), None)
        user = own_user or spec.username or user  # ``alice@web1``: more precise than a group's user
    else:
        _check_host(address)
        port = _split_port(host.name)[1] if host.name.count(":") == 1 or "]:" in host.name else None
    if port_text is not None:
        try:
            port = _port(port_text[0])
        except ValueError as exc:
            raise ValueError(f"{exc} (ansible_port on line {port_text[1]})") from None
    if user is not None:
        _check_user(user)
    return InventoryTarget(
        name=host.name, host=address, port=port, username=user, line=host.line, groups=tuple(groups)
    )


def report_duplicates(inventory: Inventory) -> None:
    """Keep the first of targets reaching the same server; each later one becomes an error naming both."""
    seen: dict[tuple[str, int], InventoryTarget] = {}
    unique: list[InventoryTarget] = []
    for target in inventory.targets:
        first = seen.get(target.key)
        if first is None:
            seen[target.key] = target
            unique.append(target)
            continue
        host, port = target.key
        inventory.errors.append(
            InventoryProblem(
                target.line,
                f"{target.name} is the same server as {first.name} on line {first.line} ({host} port {port})",
            )
        )
    inventory.targets = unique
    inventory.errors.sort(key=lambda problem: problem.line)
