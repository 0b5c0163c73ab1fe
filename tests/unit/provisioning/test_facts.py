"""The one-round-trip facts script's output is parsed into what the steps need."""

from __future__ import annotations

from setupwizard.provisioning.facts import FACTS_SCRIPT, parse_facts

SEP = "--- setupwizard:"


def test_a_password_sudo_user() -> None:
    text = (
        f'{SEP}ssh\n198.18.0.1 40000 198.18.0.10 2222\n{SEP}os\nID=debian\nPRETTY_NAME="Debian 12"\n'
        f"{SEP}uid\n1000\n{SEP}sudo\nstatus=1\nsudo: a password is required\n"
    )
    facts = parse_facts(text)
    assert facts.ssh_port == 2222 and facts.uid == "1000" and not facts.is_root
    assert "ID=debian" in facts.os_release and facts.has_sudo
    assert facts.sudo_n_status == 1 and facts.sudo_n_output == "sudo: a password is required"


def test_root_and_no_sudo_and_missing_ssh_connection() -> None:
    root = parse_facts(f"{SEP}ssh\n\n{SEP}os\n{SEP}uid\n0\n{SEP}sudo\n")
    assert root.is_root and root.has_sudo and root.ssh_port is None and root.sudo_n_status is None
    plain = parse_facts(f"{SEP}ssh\n{SEP}os\n{SEP}uid\n1001\n{SEP}sudo\nno-sudo\n")
    assert not plain.has_sudo and plain.sudo_n_status is None


def test_the_script_runs_sudo_only_non_interactively() -> None:
    assert "sudo -n true" in FACTS_SCRIPT and "sudo -S" not in FACTS_SCRIPT
