"""Saved sudo credentials (ssh_servers_sudo) and known host keys."""
