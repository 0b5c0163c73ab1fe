"""The CLI's part of confirm-or-revert and of the agent-proven admin login: the prompt, read without
blocking the run, and whether the ssh-agent holds the admin key's private half."""

from __future__ import annotations

import asyncio
import os
import sys

from setupwizard.provisioning.messages import Lang
from setupwizard.provisioning.ssh import agent_key

CONFIRM_PROMPT: dict[Lang, str] = {
    "zh": "能登录吗？输入 yes 并回车保留新设置；输入其他内容或按 Ctrl-C 立即回滚；超时未答也会回滚。",
    "en": "Could you log in? Type yes and Enter to keep the new settings; anything else or Ctrl-C rolls "
    "them back now, and so does no answer in time.",
}


def ask_for_confirmation(
    loop: asyncio.AbstractEventLoop, confirm: asyncio.Event, cancel: asyncio.Event
) -> None:
    """Read the person's answer from the terminal without blocking the run: ``yes`` sets ``confirm``,
    any other line ``cancel`` (roll back now); end of input leaves the deadline to roll back."""
    fd = sys.stdin.fileno()
    typed = bytearray()

    def readable() -> None:
        chunk = os.read(fd, 1024)
        typed.extend(chunk)
        if chunk and b"\n" not in typed:
            return
        loop.remove_reader(fd)
        if not chunk:  # end of input: nobody answers, the deadline rolls back
            return
        answer = typed.decode(errors="replace").strip().lower()
        (confirm if answer in ("yes", "y") else cancel).set()

    loop.add_reader(fd, readable)


async def agent_holds(path: str, public_key: str) -> bool:
    """Whether the ssh-agent at ``path`` holds the private half of ``public_key``."""
    agent, key = await agent_key(path, public_key)
    if agent is not None:
        agent.close()
    return key is not None
