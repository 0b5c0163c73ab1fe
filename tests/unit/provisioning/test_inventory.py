"""Targets from ``user@host:port`` lines and Ansible INI inventories (shaped as in Ansible's docs)."""

from __future__ import annotations

import pytest

from setupwizard.provisioning.inventory import (
    InventoryTarget,
    parse_ansible_ini,
    parse_host_lines,
    parse_host_spec,
    parse_inventory,
)


def where(targets: list[InventoryTarget]) -> list[tuple[str, str, int | None, str | None]]:
    return [(t.name, t.host, t.port, t.username) for t in targets]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("198.51.100.7", ("198.51.100.7", None, None)),
        ("root@198.51.100.7", ("198.51.100.7", None, "root")),
        ("deploy@web1.example.com:2222", ("web1.example.com", 2222, "deploy")),
        ("[::1]:2222", ("::1", 2222, None)),
        ("admin@[2001:db8::1]:22", ("2001:db8::1", 22, "admin")),
        ("[2001:db8::1]", ("2001:db8::1", None, None)),
        ("2001:db8::1", ("2001:db8::1", None, None)),  # a bare IPv6 address has no port
    ],
)
def test_a_host_spec_reads_user_host_and_port(
    spec: str, expected: tuple[str, int | None, str | None]
) -> None:
    target = parse_host_spec(spec)
    assert (target.host, target.port, target.username) == expected


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("web1:0", "port '0' is not a number from 1 to 65535"),
        ("web1:ssh", "port 'ssh' is not a number"),
        ("[::1]:70000", "port '70000'"),
        ("bad user@web1", "user 'bad user' is not a valid login name"),
        ("@web1", "user '' is not a valid login name"),
        ("root@", "no host"),
        ("0x7f.1", "host '0x7f.1'"),
    ],
)
def test_a_bad_host_spec_names_the_problem(spec: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_host_spec(spec)
    assert problem in str(caught.value)


def test_host_lines_skip_comments_and_blank_lines_and_name_each_bad_line() -> None:
    text = (
        "# web tier\nroot@198.51.100.7\n\n  deploy@web2.example.com:2222  # the new one\n"
        "web3:99999\nweb4 web5\n"
    )
    inventory = parse_host_lines(text)
    assert where(inventory.targets) == [
        ("root@198.51.100.7", "198.51.100.7", None, "root"),
        ("deploy@web2.example.com:2222", "web2.example.com", 2222, "deploy"),
    ]
    assert [str(e) for e in inventory.errors] == [
        "line 5: port '99999' is not a number from 1 to 65535",
        "line 6: one host a line, found 'web4 web5'",
    ]


def test_the_same_server_twice_is_reported_with_both_lines() -> None:
    inventory = parse_host_lines(
        "198.51.100.7\nroot@198.51.100.7:22\n198.51.100.7:2222\n::ffff:198.51.100.7\n"
    )
    assert where(inventory.targets) == [
        ("198.51.100.7", "198.51.100.7", None, None),
        ("198.51.100.7:2222", "198.51.100.7", 2222, None),
    ]
    assert [e.line for e in inventory.errors] == [2, 4]
    assert "same server as 198.51.100.7 on line 1 (198.51.100.7 port 22)" in inventory.errors[0].message


ANSIBLE_EXAMPLE = """\
# an inventory in the shape of Ansible's "How to build your inventory"
mail.example.com

[webservers]
foo.example.com
bar.example.com:5309

[dbservers]
one.example.com ansible_user=postgres
two.example.com ansible_host=192.0.2.51 ansible_port=2222   # moved
jumper ansible_port=5555 ansible_host="192.0.2.50"

[dbservers:vars]
ansible_user=dbadmin
ntp_server=ntp.atlanta.example.com

[all:vars]
ansible_user=ops
ansible_python_interpreter=/usr/bin/python3
"""


def test_an_ansible_inventory_gives_each_host_its_address_port_and_user() -> None:
    inventory = parse_inventory(ANSIBLE_EXAMPLE)
    assert inventory.errors == []
    assert where(inventory.targets) == [
        ("mail.example.com", "mail.example.com", None, "ops"),
        ("foo.example.com", "foo.example.com", None, "ops"),
        ("bar.example.com:5309", "bar.example.com", 5309, "ops"),
        ("one.example.com", "one.example.com", None, "postgres"),  # the host's own variable wins
        ("two.example.com", "192.0.2.51", 2222, "dbadmin"),  # the group's wins over all:vars
        ("jumper", "192.0.2.50", 5555, "dbadmin"),
    ]
    assert inventory.targets[4].groups == ("dbservers",) and inventory.targets[4].line == 10
    assert [str(w) for w in inventory.warnings] == ["line 19: ansible_python_interpreter is ignored"]


def test_child_groups_take_their_parents_vars_and_a_host_in_two_groups_is_one_host() -> None:
    text = """\
[atlanta]
host1 ansible_host=192.0.2.1
host2 ansible_host=192.0.2.2

[raleigh]
host2
host3 ansible_host=192.0.2.3

[southeast:children]
atlanta
raleigh

[southeast:vars]
ansible_port=2200
ansible_user = 'south'

[raleigh:vars]
ansible_user=raleigh
"""
    inventory = parse_ansible_ini(text)
    assert inventory.errors == []
    assert where(inventory.targets) == [
        ("host1", "192.0.2.1", 2200, "south"),
        ("host2", "192.0.2.2", 2200, "raleigh"),
        ("host3", "192.0.2.3", 2200, "raleigh"),
    ]
    assert inventory.targets[1].groups == ("southeast", "atlanta", "raleigh")


def test_ansible_errors_name_their_lines_and_the_rest_is_still_read() -> None:
    text = """\
[web]
web[01:50].example.com
web1 ansible_host=192.0.2.10 ansible_port=eighty
web2 ansible_host=192.0.2.11 ansible_password=hunter2
web3 ansible_host=192.0.2.12 oops
web4 ansible_host=192.0.2.13 ansible_user="bad user"
web5 ansible_host="192.0.2.14
web6 ansible_host=192.0.2.15
web6 ansible_host=192.0.2.15
web7 ansible_host=192.0.2.15
[web:vars
[db:vars]
just words
"""
    inventory = parse_ansible_ini(text)
    assert [str(e) for e in inventory.errors] == [
        "line 2: host ranges such as web[01:50].example.com are not supported: list the hosts one a line",
        "line 3: host web1: port 'eighty' is not a number from 1 to 65535 (ansible_port on line 3)",
        "line 4: ansible_password holds a secret: give it at the prompt (or --password-stdin), not in a file",
        "line 5: 'oops' is not key=value",
        "line 6: host web4: user 'bad user' is not a valid login name",
        "line 7: cannot read the line (No closing quotation)",
        "line 9: host web6 is listed twice (first on line 8)",
        "line 10: web7 is the same server as web6 on line 8 (192.0.2.15 port 22)",
        "line 11: [web:vars is not a valid section header",
        "line 13: 'just words' is not key=value (a [db:vars] section has one a line)",
    ]
    assert where(inventory.targets) == [("web6", "192.0.2.15", None, None)]
    assert "hunter2" not in " ".join(str(e) for e in inventory.errors)


def test_an_ini_host_may_be_written_user_at_host_port_and_a_bad_name_is_named_once() -> None:
    text = (
        "[web]\n[2001:db8::1]:2222 ansible_user=ops\nalice@198.51.100.9\nbad_host!\n"
        "[web:vars]\nansible_user=www\n"
    )
    inventory = parse_ansible_ini(text)
    assert where(inventory.targets) == [
        ("[2001:db8::1]:2222", "2001:db8::1", 2222, "ops"),
        ("alice@198.51.100.9", "198.51.100.9", None, "alice"),
    ]
    assert [str(e) for e in inventory.errors] == [
        "line 4: host 'bad_host!': Not a valid IP address or DNS name"
    ]


def test_parse_inventory_tells_the_two_forms_apart() -> None:
    assert parse_inventory("[::1]:2222\nroot@198.51.100.7\n").targets[0].port == 2222
    assert parse_inventory("web1 ansible_host=192.0.2.1\n").targets[0].host == "192.0.2.1"
    assert parse_inventory("[web]\n198.51.100.7\n").targets[0].groups == ("web",)
    empty = parse_inventory("# nothing yet\n\n")
    assert empty.ok and empty.targets == []
