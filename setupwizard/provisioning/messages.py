"""The engine's own lines as stable codes with parameters, and their texts in Chinese and English.

Every event the engine writes itself carries ``code`` and ``params`` beside its Chinese ``message``
(the seed contract's text, rendered from the same catalogue, so the two never disagree). Lines
printed by the server's programs have no code. Rendering rules, the same in Python and on the page:

- a template's ``{name}`` is replaced by ``params[name]``;
- a parameter that is an object ``{"code": ..., "params": {...}}`` is itself rendered first
  (step names, outcomes and reasons are nested like this);
- a parameter that is a list is rendered item by item and joined with ``、`` (zh) or ``, `` (en);
- an unknown code renders as its ``text`` parameter when there is one (the Chinese text).

:func:`catalogue_json` is the catalogue the page loads: ``{"zh": {code: template}, "en": {...}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

# code: (zh, en)
CATALOGUE: dict[str, tuple[str, str]] = {
    "text": ("{text}", "{text}"),
    # the run as a whole
    "run.start": (
        "开始设置 {user}@{host}:{port}，共 {total} 步",
        "Setting up {user}@{host}:{port}: {total} steps",
    ),
    "run.invalid_input": ("✗ 输入无效: {reason}", "✗ Invalid input: {reason}"),
    "run.complete": ("{mark} {result}", "{mark} {result}"),
    "run.succeeded": ("服务器设置完成", "Server setup finished"),
    "run.succeeded_with_warnings": (
        "服务器设置完成（{count} 个警告）",
        "Server setup finished ({count} warnings)",
    ),
    "run.failed_step": ("第 {index} 步「{step}」失败: {reason}", "Step {index} “{step}” failed: {reason}"),
    "run.cancelled": (
        "设置已取消，已完成的步骤保持不变",
        "Setup cancelled; completed steps stay as they are",
    ),
    "run.interrupted": ("设置被中断", "Setup interrupted"),
    "run.interrupted_restart": (
        "设置被中断：服务在运行中重启，服务器可能处于部分设置的状态，请重新运行设置",
        "Setup interrupted: the service restarted mid-run; the server may be partly set up; run it again",
    ),
    "run.log_incomplete": (
        "{result}；但日志未能完整保存：只保存了 {stored}/{total} 行（数据库写入失败: {reason}）",
        "{result}; but the log could not be stored in full: {stored} of {total} lines kept "
        "(writing to the database failed: {reason})",
    ),
    "run.internal_error": ("内部错误: {kind}", "Internal error: {kind}"),
    "run.input_invalid": ("输入无效: {reason}", "Invalid input: {reason}"),
    # a fleet's host that never ran (fleets/hosts.py): its session's message and the fleet's last line
    "fleet.never_ran.fleet_cancelled": (
        "已取消：该主机在批量任务取消前尚未开始",
        "Cancelled: this host had not started when the fleet was cancelled",
    ),
    "fleet.never_ran.cancelled": (
        "已取消：该主机在开始前被取消",
        "Cancelled: this host was cancelled before it started",
    ),
    "fleet.never_ran.stop_after_failures": (
        "已跳过：批量任务失败次数已达上限，该主机未开始",
        "Skipped: the fleet reached its failure limit before this host started",
    ),
    # the header of a session's log.txt
    "log.session": ("# Setup Wizard 设置会话 {id}", "# Setup Wizard session {id}"),
    "log.server": ("# 服务器: {server}", "# server: {server}"),
    "log.status": ("# 状态: {status}", "# status: {status}"),
    "log.status.running": ("运行中", "running"),
    "log.status.succeeded": ("成功", "succeeded"),
    "log.status.failed": ("失败", "failed"),
    "log.status.cancelled": ("已取消", "cancelled"),
    "log.status.interrupted": ("已中断", "interrupted"),
    # step events
    "step.running": ("[{index}/{total}] {step} …", "[{index}/{total}] {step} …"),
    "step.end": ("{mark} {step}: {outcome}", "{mark} {step}: {outcome}"),
    "step.not_run.cancelled": ("已取消，未执行", "cancelled, not run"),
    "step.not_run.failed": ("前面的步骤失败，未执行", "not run: an earlier step failed"),
    "step.interrupted": ("已中断", "interrupted"),
    "step.not_run.interrupted": ("已中断，未执行", "interrupted, not run"),
    "step.cancelled": ("已取消，远程命令已终止", "cancelled; the remote command was stopped"),
    "step.connection_lost": ("SSH 连接中断: {reason}", "SSH connection lost: {reason}"),
    "step.internal_error": ("内部错误: {kind}", "Internal error: {kind}"),
    # step names
    "step_name.connect": ("连接服务器并识别系统", "Connect and identify the system"),
    "step_name.sudo": ("检查 sudo 权限", "Check sudo rights"),
    "step_name.apt_wait": ("等待其他 apt/dpkg 进程结束", "Wait for other apt/dpkg processes"),
    "step_name.apt_update": ("更新软件源 (apt-get update)", "Update package lists (apt-get update)"),
    "step_name.apt_upgrade": (
        "升级已安装的软件包 (apt-get upgrade)",
        "Upgrade installed packages (apt-get upgrade)",
    ),
    "step_name.packages": ("安装软件包", "Install packages"),
    "step_name.firewall": ("配置防火墙 (ufw)", "Configure the firewall (ufw)"),
    "step_name.script": ("运行自定义脚本", "Run the custom script"),
    "step_name.hostname": ("设置主机名", "Set the host name"),
    "step_name.timezone": ("设置时区", "Set the time zone"),
    "step_name.auto_updates": (
        "自动安全更新 (unattended-upgrades)",
        "Automatic security updates (unattended-upgrades)",
    ),
    "step_name.fail2ban": ("配置 fail2ban (sshd)", "Set up fail2ban (sshd)"),
    "step_name.admin_user": ("创建管理员用户", "Create the admin user"),
    "step_name.ssh_hardening": ("加固 SSH", "Harden SSH"),
    # the summary
    "summary.title": ("—— 总结 ——", "—— Summary ——"),
    "summary.step": ("{mark} {step}: {outcome}（{seconds} 秒）", "{mark} {step}: {outcome} ({seconds} s)"),
    "summary.step_not_run": ("{mark} {step}: {outcome}", "{mark} {step}: {outcome}"),
    "summary.changed": ("有更改: {steps}", "Changed: {steps}"),
    "summary.unchanged": ("已就绪无需更改: {steps}", "Already in place: {steps}"),
    # connect and sudo
    "connect.connecting": ("正在连接 {user}@{host}:{port} …", "Connecting to {user}@{host}:{port} …"),
    "connect.new_host_key": (
        "首次连接此主机，已记录主机密钥指纹 {fingerprint}",
        "First connection to this host: recorded its host key fingerprint {fingerprint}",
    ),
    "connect.host_key_matches": (
        "主机密钥指纹与记录一致: {fingerprint}",
        "The host key fingerprint matches the record: {fingerprint}",
    ),
    "connect.done": ("已连接 {host}，系统 {os}", "Connected to {host}, system {os}"),
    "sudo.root": ("以 root 登录，无需 sudo", "Logged in as root, no sudo needed"),
    "sudo.passwordless": ("{user} 可以免密码使用 sudo", "{user} can use sudo without a password"),
    "sudo.password": ("{user} 的 sudo 密码已验证", "{user}'s sudo password was verified"),
    # apt
    "apt_wait.idle": ("没有其他 apt/dpkg 进程在运行", "No other apt/dpkg process is running"),
    "apt_wait.idle_after": (
        "apt/dpkg 已空闲（等待了 {seconds} 秒）",
        "apt/dpkg is free (waited {seconds} s)",
    ),
    "apt_wait.waiting": (
        "等待其他软件包进程结束: {who}（已等待 {seconds} 秒）",
        "Waiting for other package processes: {who} (waited {seconds} s)",
    ),
    "apt_wait.timeout": (
        "等待 apt/dpkg 超时（{limit} 秒），仍在运行: {who}",
        "Gave up waiting for apt/dpkg after {limit} s; still running: {who}",
    ),
    # a cancel during apt (steps/dpkg_settle.py)
    "apt.cancel_waiting": (
        "已取消：正在运行的 apt/dpkg 先完成（中途打断会让软件包处于半配置状态），最多等待 {seconds} 秒",
        "Cancelled: the running apt/dpkg finishes first (stopping it midway leaves packages "
        "half-configured); waiting up to {seconds} s",
    ),
    "apt.cancel_countdown": (
        "仍在等待 {who}结束（最多还剩 {seconds} 秒）",
        "Still waiting for {who} to finish ({seconds} s left at most)",
    ),
    "apt.cancel_configure": (
        "dpkg --audit 报告未完成的软件包，正在运行 dpkg --configure -a",
        "dpkg --audit reports unfinished packages: running dpkg --configure -a",
    ),
    "apt.settle_waited": ("已等待正在运行的 apt/dpkg 完成", "waited for the running apt/dpkg to finish"),
    "apt.settle_configured": (
        "已等待 apt/dpkg 结束并运行了 dpkg --configure -a",
        "waited for apt/dpkg to end and ran dpkg --configure -a",
    ),
    "apt.settle_timed_out": ("等待 apt/dpkg 超时", "waiting for apt/dpkg timed out"),
    "apt.state_ok": ("正常（dpkg --audit 无问题）", "consistent (dpkg --audit reports nothing)"),
    "apt.state_broken": (
        "仍有未完成的软件包: {packages}；请在服务器上运行 sudo dpkg --configure -a",
        "packages still unfinished: {packages}; run sudo dpkg --configure -a on the server",
    ),
    "apt.state_busy": (
        "apt/dpkg 仍在运行（{who}），结束后请用 dpkg --audit 检查",
        "apt/dpkg still running ({who}); check with dpkg --audit once it ends",
    ),
    "step.cancelled_packages": (
        "已取消；{how}；软件包状态: {state}",
        "cancelled; {how}; package state: {state}",
    ),
    "apt_update.dpkg_configure": (
        "上次的 dpkg 没有完成，先运行 dpkg --configure -a",
        "The last dpkg run did not finish: running dpkg --configure -a first",
    ),
    "apt_update.done": ("软件源已更新", "Package lists updated"),
    "apt_update.lists_locked": (
        "另一个 apt-get update 正在运行（软件源列表已被锁定），稍后重试（已等待 {seconds} 秒）",
        "Another apt-get update holds the package lists' lock: retrying shortly (waited {seconds} s)",
    ),
    "apt_update.fresh": (
        "软件源在 {minutes} 分钟内已更新，且源未改变，跳过 apt-get update",
        "Package lists were updated in the last {minutes} minutes and no source changed: "
        "apt-get update skipped",
    ),
    "apt_update.warning": (
        "软件源已更新，但有警告: {reason}{more}",
        "Package lists updated with warnings: {reason}{more}",
    ),
    "apt_update.more_warnings": ("（共 {count} 条警告）", " ({count} warnings in all)"),
    "apt_upgrade.none": ("所有软件包已是最新", "All packages are up to date"),
    "apt_upgrade.done": ("已升级 {count} 个软件包", "Upgraded {count} packages"),
    "packages.none": ("没有要安装的软件包", "No packages to install"),
    "packages.present": (
        "软件包均已安装，无需更改: {packages}",
        "All packages are installed already: {packages}",
    ),
    "packages.plan": (
        "已安装: {present}；需要安装: {missing}",
        "Installed: {present}; to install: {missing}",
    ),
    "packages.nothing": ("无", "none"),
    "packages.missing_after": ("安装后仍未找到: {packages}", "Still missing after installing: {packages}"),
    "packages.installed": ("新安装: {packages}", "Newly installed: {packages}"),
    # firewall
    "firewall.install_ufw": ("ufw 未安装，先安装 ufw", "ufw is not installed: installing it first"),
    "firewall.drill": (
        "演练: 故意拒绝 SSH 端口 {port}，以验证防锁死保护",
        "Drill: denying SSH port {port} on purpose to prove the lock-out guard",
    ),
    "firewall.apply_failed": (
        "防火墙配置失败，正在撤销本步骤的更改 …",
        "Configuring the firewall failed: undoing this step's changes …",
    ),
    "firewall.proving": (
        "正在用新的 SSH 连接验证端口 {port} 仍可登录 …",
        "Checking with a new SSH connection that port {port} still lets you in …",
    ),
    "firewall.proof_failed": (
        "新的 SSH 连接失败（{problem}），正在回滚防火墙 …",
        "A new SSH connection failed ({problem}): rolling the firewall back …",
    ),
    "firewall.restored": ("回滚后新的 SSH 连接已恢复", "after the rollback new SSH connections work again"),
    "firewall.still_locked": (
        "回滚后仍无法新建连接: {problem}",
        "after the rollback new connections still fail: {problem}",
    ),
    "firewall.lockout_prevented": (
        "启用防火墙后无法建立新的 SSH 连接（端口 {port}），已通过现有连接回滚防火墙设置；{state}。"
        "请检查端口设置和云厂商的安全组。",
        "After enabling the firewall no new SSH connection could be made (port {port}); the firewall "
        "was rolled back through the open connection; {state}. Check the port settings and your cloud "
        "security group.",
    ),
    "firewall.unchanged": (
        "防火墙已启用，规则已存在，无需更改: {rules}",
        "The firewall is enabled and the rules exist already: {rules}",
    ),
    "firewall.enabled": (
        "防火墙已启用: {rules}；默认拒绝入站",
        "Firewall enabled: {rules}; incoming traffic denied by default",
    ),
    # hostname and time zone
    "hostname.unchanged": (
        "主机名已是 {name}，/etc/hosts 已正确，无需更改",
        "The host name is {name} already and /etc/hosts is right",
    ),
    "hostname.done": (
        "主机名已设为 {name}，/etc/hosts 的 127.0.1.1 行已更新",
        "Host name set to {name}; the 127.0.1.1 line of /etc/hosts updated",
    ),
    "hostname.not_applied": (
        "设置后主机名仍不是 {name}",
        "The host name is still not {name} after setting it",
    ),
    "timezone.unchanged": ("时区已是 {zone}，无需更改", "The time zone is {zone} already"),
    "timezone.done": ("时区已设为 {zone}", "Time zone set to {zone}"),
    "timezone.unknown": (
        "服务器不认识时区 {zone}（不在 timedatectl list-timezones 中），未做更改",
        "The server does not know the time zone {zone} (not in timedatectl list-timezones); nothing changed",
    ),
    "timezone.not_applied": (
        "设置后时区仍不是 {zone}",
        "The time zone is still not {zone} after setting it",
    ),
    # automatic updates
    "auto_updates.unchanged": (
        "自动安全更新已启用，无需更改",
        "Automatic security updates are enabled already",
    ),
    "auto_updates.done": (
        "自动安全更新已启用（apt-config 已确认，unattended-upgrade --dry-run 成功）",
        "Automatic security updates enabled (confirmed by apt-config; "
        "unattended-upgrade --dry-run succeeded)",
    ),
    "auto_updates.not_enabled": (
        "写入 20auto-upgrades 后 apt-config 仍未显示自动更新已启用（可能被其他配置覆盖）",
        "After writing 20auto-upgrades, apt-config still does not show automatic updates enabled "
        "(another file may override it)",
    ),
    # fail2ban
    "fail2ban.unchanged": (
        "fail2ban 已在运行，sshd 规则已启用，无需更改",
        "fail2ban is running with the sshd jail already",
    ),
    "fail2ban.done": (
        "fail2ban 已运行，sshd 规则已启用（从 journald 读取日志）",
        "fail2ban is running with the sshd jail (reading the journal)",
    ),
    "fail2ban.not_running": (
        "fail2ban 没有启动，sshd 规则不可用；已撤回本步骤写入的配置",
        "fail2ban did not start and the sshd jail is not up; this step's configuration was taken back out",
    ),
    # admin user
    "admin.unchanged": (
        "用户 {user} 已存在，在 sudo 组中，密钥和 sudo 设置已就绪，无需更改",
        "User {user} exists, is in the sudo group, and has the key and sudo settings already",
    ),
    "admin.done": (
        "管理员用户 {user} 已就绪（更改: {changes}）",
        "Admin user {user} is ready (changed: {changes})",
    ),
    "admin.old_keys_kept": (
        "{user} 之前生成的 {count} 个密钥仍然有效（authorized_keys 中注释为 {user}@setupwizard）；"
        "如果旧私钥已丢失或泄露，请在新密钥登录后删除那一行",
        "The {count} key(s) generated for {user} by earlier runs still work (comment {user}@setupwizard in "
        "authorized_keys); if an old private key was lost or leaked, delete its line after logging in with "
        "the new key",
    ),
    "admin.done_keys_kept": (
        "管理员用户 {user} 已就绪（更改: {changes}）；新密钥已添加，之前生成的密钥仍然有效",
        "Admin user {user} is ready (changed: {changes}); the new key was added and the keys generated "
        "earlier still work",
    ),
    "admin.key_generated": (
        "已为 {user} 生成新的 ed25519 密钥，新登录已验证；私钥只提供这一次下载，不会保存",
        "Generated a new ed25519 key for {user} and proved a new login with it; the private key is offered "
        "for download this once and is not stored",
    ),
    "admin.key_login_failed": (
        "用新生成的密钥以 {user} 新建 SSH 登录失败: {problem}",
        "A new SSH login as {user} with the generated key failed: {problem}",
    ),
    "admin.password_failed": (
        "设置 sudo 密码失败（退出码 {status}）",
        "Setting the sudo password failed (exit status {status})",
    ),
    # SSH hardening
    "hardening.unchanged": (
        "SSH 加固配置已生效，无需更改",
        "The SSH hardening settings are in force already",
    ),
    "hardening.no_key_login": (
        "拒绝加固: 本次无法证明新设置下还有可用的登录（关闭密码登录需要已验证的密钥登录；"
        "请生成管理员密钥，或用私钥登录后再试）；未做任何更改",
        "Refused: no login that works under the new settings could be proven on this run (turning "
        "password login off needs a proven key login: generate the admin user's key, or log in with a "
        "private key and try again); nothing was changed",
    ),
    "hardening.socket_activated": (
        "sshd 由 ssh.socket 启动（Ubuntu 22.10 及以后），Port 设置不会生效；未更改端口，也未做其他更改",
        "sshd is started by ssh.socket (Ubuntu 22.10 and later), where Port has no effect; nothing was "
        "changed",
    ),
    "hardening.proving": (
        "正在用新的 SSH 登录验证 {where} 可以登录（当前连接保持打开）…",
        "Proving with a brand-new SSH login that {where} gets in (this session stays open) …",
    ),
    "hardening.proof_failed": (
        "新的 SSH 登录失败（{problem}），正在回滚 sshd 配置 …",
        "The brand-new SSH login failed ({problem}): rolling the sshd settings back …",
    ),
    "hardening.rolled_back": (
        "新的登录方式无法登录（{problem}），已通过当前连接撤销 sshd 配置: {state}",
        "The new way to log in did not work ({problem}); the sshd settings were undone through the open "
        "session: {state}",
    ),
    "hardening.root_off": ("root 登录已关闭", "root login is off"),
    "hardening.root_key_only": ("root 只能用密钥登录", "root may log in with a key only"),
    "hardening.with_key": ("密钥", "a key"),
    "hardening.with_password": ("密码", "a password"),
    "hardening.done": (
        "{root}，请使用 {where} 和{how}登录",
        "{root}; log in as {where} with {how}",
    ),
    # checks of the whole plan before its first change (preflight.py)
    "preflight.field": ("{field}: {reason}", "{field}: {reason}"),
    "preflight.refused": (
        "已拒绝整个计划（{field}）: {reason}；服务器上没有做任何更改",
        "The whole plan was refused ({field}): {reason}; nothing was changed on the server",
    ),
    "preflight.no_proof": (
        "加固后本次运行无法证明还有可用的登录: 请添加管理员用户并生成密钥（或粘贴本次登录所用密钥的公钥），"
        "或用私钥登录，或保留密码登录；或者开启 ssh_hardening.confirm_login（确认或回滚: 由你从自己的终端"
        "登录验证，限时内未确认则自动回滚）",
        "after the hardening this run could prove no login that still works: add an admin user with a "
        "generated key (or the public half of the key this run logs in with), log in with a private key, or "
        "keep password login; or turn on ssh_hardening.confirm_login (confirm-or-revert: you prove the "
        "login from your own terminal, and it is rolled back unless you confirm in time)",
    ),
    "preflight.admin_no_sudo": (
        "关闭 root 登录后必须留下一条已验证的获得 root 的路: 请为 {user} 设置 sudo 密码，或选择免密码 sudo",
        "with root login off, a proven way to root must be left: give {user} a sudo password, or choose "
        "sudo without a password (NOPASSWD)",
    ),
    "preflight.no_way_to_root": (
        "关闭 root 登录后必须留下一条已验证的获得 root 的路: 请添加管理员用户（生成密钥，并设置 sudo 密码或"
        "免密码 sudo），或用密钥以 root 登录并选择 prohibit-password",
        "with root login off, a proven way to root must be left: add an admin user (a generated key, and a "
        "sudo password or NOPASSWD), or log in as root with a key and choose prohibit-password",
    ),
    "preflight.port_in_use": (
        "服务器上已有程序监听端口 {port}（ss -ltn），sshd 无法移到该端口: 请选择空闲端口",
        "a program on the server already listens on port {port} (ss -ltn), so sshd cannot move there: "
        "choose a free port",
    ),
    "preflight.no_systemd": (
        "服务器的 PID 1 不是 systemd（容器或没有 systemd 的 LXC），{option} 需要 systemd: 请取消该选项",
        "PID 1 on the server is not systemd (a container, or an LXC without systemd), and {option} needs "
        "systemd: leave that option out",
    ),
    "hardening.root_proven": (
        "已用新的登录验证 {user} 可以通过 sudo 获得 root",
        "A brand-new login proved that {user} becomes root through sudo",
    ),
    "hardening.restored_proven": (
        "已恢复原 sshd 配置，并用端口 {port} 上的新登录验证原登录方式可用",
        "The earlier sshd settings are back, and a brand-new login on port {port} proved the old way in",
    ),
    "hardening.restored_unproven": (
        "已恢复原 sshd 配置，但端口 {port} 上的新登录仍然失败: {problem}",
        "The earlier sshd settings are back, but a brand-new login on port {port} still fails: {problem}",
    ),
    "hardening.old_port_closed": (
        "已删除旧 SSH 端口的防火墙规则 allow {port}/tcp",
        "Removed the old SSH port's firewall rule allow {port}/tcp",
    ),
    "hardening.sshd_restarted": (
        "sshd 已停止运行，回滚时已重建 /run/sshd 并重新启动 sshd",
        "sshd had stopped: the rollback recreated /run/sshd and restarted sshd",
    ),
    "hardening.confirm_wait": (
        "新的 SSH 设置已生效。请在你自己的终端运行 {command} 验证可以登录{root}，然后在 {seconds} 秒内"
        "（{deadline} 之前）确认；未确认将自动回滚",
        "The new SSH settings are in force. From your own terminal, run {command} to check that you can "
        "log in{root}, then confirm within {seconds} s (before {deadline}); without a confirmation they are "
        "rolled back",
    ),
    "hardening.confirm_root": (
        "，并用 sudo true 验证可以获得 root",
        ", and sudo true to check it becomes root",
    ),
    "hardening.confirmed": (
        "已确认: 你已用 {where} 登录，新的 SSH 设置保留",
        "Confirmed: you logged in as {where}; the new SSH settings are kept",
    ),
    "hardening.confirm_cancelled": (
        "等待确认时设置被取消，已回滚 sshd 配置: {state}",
        "The setup was cancelled while waiting for the confirmation; the sshd settings were rolled back: "
        "{state}",
    ),
    "hardening.confirm_connection_lost": (
        "等待确认时 SSH 连接中断: 服务器上的计时器将在加固后 {seconds} 秒内自行回滚 sshd 配置",
        "The SSH connection was lost while waiting for the confirmation: the server's own timer rolls "
        "the sshd settings back within {seconds} s of the hardening",
    ),
    "hardening.reverted_unconfirmed": (
        "未在限时内确认，已回滚: {state}",
        "Reverted because not confirmed in time: {state}",
    ),
    "script.done": ("自定义脚本执行成功（退出码 0）", "The custom script succeeded (exit status 0)"),
    # errors
    "command.failed": ("{what}失败（{why}）{last}", "{what} failed ({why}){last}"),
    # what a failed command was doing (command.failed's {what})
    "action.command": ("{command} ", "{command}"),
    "action.create_user": ("创建用户 ", "Creating the user"),
    "action.write_file": ("写入 {path} ", "Writing {path}"),
    "action.write_fail2ban": ("写入 fail2ban 配置 ", "Writing the fail2ban configuration"),
    "action.start_fail2ban": ("启动 fail2ban ", "Starting fail2ban"),
    "action.read_ufw": ("读取 ufw 状态", "Reading the ufw status"),
    "action.install_ufw": ("安装 ufw ", "Installing ufw"),
    "action.configure_ufw": ("ufw 配置 ", "Configuring ufw"),
    "action.read_hostname": ("读取主机名", "Reading the host name"),
    "action.set_hostname": ("设置主机名 ", "Setting the host name"),
    "action.read_timezone": ("读取时区", "Reading the time zone"),
    "action.set_timezone": ("设置时区 ", "Setting the time zone"),
    "action.script": ("自定义脚本", "The custom script"),
    "action.write_sshd": ("写入 sshd 配置 ", "Writing the sshd configuration"),
    "error.not_connected": ("还没有连接到服务器", "not connected to the server yet"),
    "error.new_login_cannot_run": ("新连接无法运行命令", "a new connection cannot run commands"),
    "command.timed_out": ("超时", "timed out"),
    "command.exit_status": ("退出码 {status}", "exit status {status}"),
    "command.last_line": (": {line}", ": {line}"),
    "error.auth_failed": (
        "{user}@{host} 登录失败: 用户名、密码或私钥不被服务器接受",
        "{user}@{host}: login failed — the server did not accept the user name, password or key",
    ),
    "error.auth_timeout": (
        "{user}@{host} 登录超时: 服务器在 {seconds} 秒内没有接受或拒绝凭据"
        "（连接本身正常；密码错误时有的服务器会故意拖延，请检查用户名和密码）",
        "{user}@{host}: the login timed out — the server neither accepted nor refused the credentials in "
        "{seconds} s (the connection itself works; some servers stall a wrong password: check the user "
        "name and password)",
    ),
    "error.unreachable": (
        "无法连接到 {host}:{port} 的 SSH 服务：连接被拒绝、被过滤、没有路由，或该端口上不是 SSH。"
        "请检查地址、端口和防火墙",
        "Cannot reach an SSH server at {host}:{port}: the connection was refused or filtered, there is no "
        "route, or the port does not speak SSH. Check the address, the port and the firewall",
    ),
    "error.handshake_failed": (
        "与 {host}:{port} 的 SSH 握手失败: {reason}",
        "The SSH handshake with {host}:{port} failed: {reason}",
    ),
    "error.host_key_unverifiable": (
        "{where} 的主机密钥无法验证",
        "The host key of {where} cannot be verified",
    ),
    "error.host_key_pin_mismatch": (
        "{where} 的主机密钥与指定的指纹不符: 期望 {expected}，服务器出示 {seen}。已在发送任何凭据前断开。",
        "The host key of {where} does not match the given fingerprint: expected {expected}, the server "
        "shows {seen}. Disconnected before sending any credential.",
    ),
    "error.host_key_changed": (
        "{where} 的主机密钥已改变: 记录的指纹 {recorded}，服务器现在出示 {seen}。"
        "已在发送任何凭据前断开。{hint}",
        "The host key of {where} changed: recorded {recorded}, the server now shows {seen}. "
        "Disconnected before sending any credential. {hint}",
    ),
    "error.reset_hint": (
        "如果服务器确实重装过或换过密钥：在服务器的控制台上运行 {check}，它显示的指纹与 {seen} "
        "相同时，选择「信任这台服务器的新密钥」（命令行: setupwizard setup --forget-host-key）后重试",
        "If the server really was rebuilt or got new keys: run {check} on the server's console; when it "
        "shows {seen}, choose “Trust the new key for this server” (command line: setupwizard setup "
        "--forget-host-key) and try again",
    ),
    "error.host_key_moved_again": (
        "{where} 现在出示的主机密钥是 {seen}，不是你核对过的 {expected}：没有信任任何密钥。请重新核对",
        "{where} now shows the host key {seen}, not the {expected} you checked: no key was trusted. "
        "Check again",
    ),
    "error.connection_closed_run": (
        "SSH 连接已断开，无法运行命令: {reason}",
        "The SSH connection is closed; the command cannot run: {reason}",
    ),
    "error.connection_closed_upload": (
        "SSH 连接已断开，无法上传脚本: {reason}",
        "The SSH connection is closed; the script cannot be uploaded: {reason}",
    ),
    "error.upload_failed": (
        "无法在服务器的 /tmp 中写入脚本文件",
        "Cannot write the script file in the server's /tmp",
    ),
    "error.sudo_no_sudo": (
        "服务器上没有安装 sudo，用户 {user} 无法获得 root 权限；请用 root 登录",
        "sudo is not installed on the server, so {user} cannot become root; log in as root",
    ),
    "error.sudo_no_rights": ("用户 {user} 没有 sudo 权限", "User {user} has no sudo rights"),
    "error.sudo_needs_password": (
        "用户 {user} 的 sudo 需要密码，但没有提供密码",
        "{user}'s sudo asks for a password, but none was given",
    ),
    "error.sudo_unverified": (
        "还没有确认 sudo 权限，不能运行需要 root 的命令",
        "sudo rights are not confirmed yet: a command needing root cannot run",
    ),
    "error.sudo_failed": (
        "无法通过 sudo 获得 root 权限: {detail}",
        "Could not become root through sudo: {detail}",
    ),
    "error.unsupported_os": (
        "不支持的系统: {os}（ID={os_id}）。目前只支持 Debian 和 Ubuntu，服务器上没有做任何更改。",
        "Unsupported system: {os} (ID={os_id}). Only Debian and Ubuntu are supported; nothing was changed.",
    ),
    "error.sudo_password_wrong": (
        "sudo 密码错误（只尝试一次，以免账户被锁定）",
        "Wrong sudo password (tried once only, so the account is not locked)",
    ),
    "error.setup_running": (
        "{where} 正在设置中，请等待当前设置结束",
        "{where} is being set up already; wait until that setup ends",
    ),
    # input checks before anything runs (validate.py): the 422 answer's detail is the Chinese text
    "invalid.host_missing": (
        "请填写服务器地址 (IPv4, IPv6 或域名)",
        "Enter the server's address (IPv4, IPv6 or a DNS name)",
    ),
    "invalid.zone_id": (
        "IPv6 区域 (% 之后) 只能是网卡名或编号: 字母、数字、_ . -，最多 15 个字符",
        "An IPv6 zone (after %) can only be an interface name or index: letters, digits, _ . -, "
        "at most 15 characters",
    ),
    "invalid.ipv4_spelling": (
        "IPv4 地址请用十进制点分写法 (四段 0–255)",
        "Write an IPv4 address as a dotted decimal quad (four parts 0–255)",
    ),
    "invalid.ipv4_spelling_meant": (
        "IPv4 地址请用十进制点分写法 (四段 0–255): 请写成 {meant}",
        "Write an IPv4 address as a dotted decimal quad (four parts 0–255): write {meant}",
    ),
    "invalid.host": ("不是有效的 IP 地址或域名", "Not a valid IP address or DNS name"),
    "invalid.port": ("端口必须是 1–65535 之间的整数", "A port must be a whole number from 1 to 65535"),
    "invalid.username": (
        "用户名只能包含小写字母、数字、_ 和 -，以字母或 _ 开头，最多 32 个字符",
        "A user name may hold only lower-case letters, digits, _ and -, must start with a letter or _, "
        "and is at most 32 characters",
    ),
    "invalid.package": ("不是有效的 Debian 软件包名", "Not a valid Debian package name"),
    "invalid.port_spec": (
        "端口格式应为 80、80/tcp 或 60000:61000/udp",
        "A port is written 80, 80/tcp or 60000:61000/udp",
    ),
    "invalid.port_range": (
        "端口超出 1–65535 或范围顺序不对",
        "A port is outside 1–65535, or a range's start is not below its end",
    ),
    "invalid.range_proto": ("端口范围需要写明 /tcp 或 /udp", "A port range needs /tcp or /udp"),
    "invalid.login_missing": ("请提供登录密码或私钥", "Give a login password or a private key"),
    "invalid.private_key": (
        "无法读取私钥: 需要 OpenSSH 或 PEM 格式；若私钥已加密，请检查口令",
        "Cannot read the private key: it must be OpenSSH or PEM; if it is encrypted, check the passphrase",
    ),
    "invalid.password_chars": (
        "密码不能包含换行或空字符",
        "A password cannot contain a line break or a NUL character",
    ),
    "invalid.fingerprint": (
        "指纹格式应为 SHA256: 加 43 个 base64 字符",
        "A fingerprint is SHA256: followed by 43 base64 characters",
    ),
    "invalid.too_many_packages": ("最多 {limit} 个软件包", "At most {limit} packages"),
    "invalid.too_many_ports": ("最多 {limit} 个端口规则", "At most {limit} port rules"),
    "invalid.script_type": ("脚本必须是文本", "The script must be text"),
    "invalid.script_nul": ("脚本不能包含空字符", "The script cannot contain a NUL character"),
    "invalid.script_size": ("脚本不能超过 {kib} KiB", "The script cannot be over {kib} KiB"),
    "invalid.hostname": (
        "主机名只能包含字母、数字和 -（不能以 - 开头或结尾），每段最多 63 个字符，可用 . 分段",
        "A host name may hold only letters, digits and - (not at either end of a part), at most 63 "
        "characters a part, parts joined with .",
    ),
    "invalid.timezone": (
        "时区应为 tz 数据库中的名称，例如 Asia/Shanghai 或 Etc/UTC",
        "A time zone is a tz database name, such as Asia/Shanghai or Etc/UTC",
    ),
    "invalid.public_key_missing": (
        "请粘贴一行 OpenSSH 公钥 (ssh-ed25519 AAAA…)",
        "Paste one line of an OpenSSH public key (ssh-ed25519 AAAA…)",
    ),
    "invalid.public_key_lines": ("公钥只能是一行", "A public key must be one line"),
    "invalid.public_key": (
        "无法读取公钥: 需要 OpenSSH 格式的一行公钥",
        "Cannot read the public key: it must be one line in OpenSSH format",
    ),
    "invalid.admin_root": ("管理员用户不能是 root", "The admin user cannot be root"),
    "invalid.key_choice": (
        "请只选一种: 粘贴公钥，或生成新密钥",
        "Choose one: paste a public key, or generate a new key",
    ),
    "invalid.key_missing": (
        "请粘贴公钥，或选择生成新密钥",
        "Paste a public key, or choose to generate a new key",
    ),
    "invalid.sudo_choice": (
        "请只选一种: 设置 sudo 密码，或免密码 sudo",
        "Choose one: a sudo password, or sudo without a password",
    ),
    "invalid.sudo_password": (
        "密码不能为空，不能包含换行或空字符，最多 1024 个字符",
        "A password cannot be empty or contain a line break or NUL character, and is at most 1024 characters",
    ),
    "invalid.permit_root_login": ("只能是 no 或 prohibit-password", "Must be no or prohibit-password"),
    "invalid.confirm_timeout": (
        "必须是 {low} 到 {high} 之间的秒数，收到 {value}",
        "Must be a number of seconds from {low} to {high}; got {value}",
    ),
    # the plan preview's comments: what decides at run time (Command.note) and the idempotence check
    "plan.note.admin_new_key": (
        "服务每次运行都会生成一对新的 ed25519 密钥（丢失的密钥可以再次运行来替换；之前运行生成的"
        "密钥保留）；NEW_PUBLIC_KEY 是其公钥，私钥只交还一次，从不保存",
        "a new ed25519 key pair made by the service on every run (a lost key is replaced by running "
        "again; keys made by earlier runs stay); NEW_PUBLIC_KEY is its public half, the private half "
        "is handed back once and never stored",
    ),
    "plan.note.admin_pasted_key": (
        "粘贴的公钥（此处已缩短）",
        "the pasted public key, shortened here",
    ),
    "plan.note.admin_create": (
        "{name} 已存在、在 sudo 组中且已装好密钥时跳过；{key}",
        "skipped when {name} exists in group sudo with the key installed; {key}",
    ),
    "plan.note.admin_nopasswd": (
        "{path} 已是如此时跳过",
        "skipped when {path} already says so",
    ),
    "plan.note.admin_password": (
        "不使用 PTY，与其余命令一样通过 sudo 以 root 运行；标准输入: {stdin}（s"
        "udo 需要时，先是登录用户自己的 sudo 密码）；密码已是这个时跳过 chpasswd",
        "no PTY, as root through sudo like the rest; stdin: {stdin} (after the login's own sudo "
        "password, when sudo asks one); chpasswd is skipped when the password is already that one",
    ),
    "plan.note.admin_proof": (
        "用新密钥：以新用户全新登录一次来证明它可用（sshd 当前所在的端口）",
        "with the new key: a brand-new login as the new user proves it (the port sshd is on now)",
    ),
    "plan.check.admin": (
        "id、id -nG、authorized_keys、sudoers 片段和密码哈希都已符合",
        "id, id -nG, authorized_keys, the sudoers drop-in and the password hash already match",
    ),
    "plan.note.apt_wait": (
        "从 /proc 列出正在运行的 {busy}，有进程在运行时每 {check} 秒检查一次；每 "
        "{poll} 秒说明是谁，最多等 {limit} 秒",
        "lists running {busy} from /proc, every {check} s while one works; says who every {poll} s, "
        "up to {limit} s",
    ),
    "plan.check.apt_wait": (
        "没有软件包管理进程在运行",
        "no package-manager process is running",
    ),
    "plan.note.apt_update_fresh": (
        "{stamp} 不到 {minutes} 分钟且之后没有 apt 源或密钥改变时跳过；另一个更新"
        "占着软件源列表的锁时再运行一次",
        "skipped when {stamp} is younger than {minutes} minutes and no apt source or key changed "
        "since; run again while another update holds the lists' lock",
    ),
    "plan.note.apt_update_always": (
        "总是运行（要求了升级）；另一个更新占着软件源列表的锁时再运行一次",
        "always (upgrade asked); run again while another update holds the lists' lock",
    ),
    "plan.note.dpkg_configure": (
        "只在 dpkg --audit 报告有被中断的 dpkg 运行时",
        "only when dpkg --audit reports an interrupted dpkg run",
    ),
    "plan.note.apt_stamp": (
        "在没有 W: 行的更新之后",
        "after an update without W: lines",
    ),
    "plan.check.apt_update": (
        "{stamp} 比软件源列表的最长有效期新，且没有比它更新的 apt 源",
        "{stamp} younger than the lists' max age and no apt source newer than it",
    ),
    "plan.check.apt_upgrade": (
        "apt-get 报告 0 个已升级",
        "apt-get reports 0 upgraded",
    ),
    "plan.note.packages": (
        "只安装 dpkg-query 没有列为已安装 (ii) 的软件包；都已安装时什么也不运行",
        "only the packages dpkg-query does not list as installed (ii); nothing runs when none is missing",
    ),
    "plan.check.packages": (
        "{query} 显示每个软件包都已安装 (ii)",
        "{query} shows every package as installed (ii)",
    ),
    "plan.note.install_if_missing": (
        "只在尚未安装时",
        "only when it is not installed",
    ),
    "plan.note.autoupdates_write": (
        "文件已如所写且 apt-config dump 一致时，与其余命令一起跳过",
        "skipped, with the rest, when the file is as written and apt-config dump agrees",
    ),
    "plan.note.autoupdates_state": (
        "apt-config dump 必须两项都显示 “1”（别的文件可能覆盖我们的设置）",
        'apt-config dump must show both as "1" (another file could override ours)',
    ),
    "plan.note.must_exit_0": (
        "必须以 0 退出",
        "must exit 0",
    ),
    "plan.check.autoupdates": (
        "unattended-upgrades 已安装，{config} 已如所写，且 {dump} 两项设置都显示 “1”",
        'unattended-upgrades installed, {config} as written and {dump} shows both settings as "1"',
    ),
    "plan.note.fail2ban_install": (
        "只安装 dpkg-query 没有列为已安装的",
        "only the ones dpkg-query does not list as installed",
    ),
    "plan.note.fail2ban_write": (
        "配置片段已如所写且 jail 有响应时，与其余命令一起跳过",
        "skipped, with the rest, when the drop-in is as written and the jail answers",
    ),
    "plan.note.fail2ban_status": (
        "最多轮询 {seconds} 秒，直到 jail 有响应",
        "polled up to {seconds} s until the jail answers",
    ),
    "plan.note.fail2ban_rollback": (
        "只在 jail 没有响应时：记录 {journal} 之后放回之前的配置片段，本步骤失败",
        "only when the jail does not answer: after {journal}, the earlier drop-in is put back and the "
        "step fails",
    ),
    "plan.check.fail2ban": (
        "软件包已安装，{drop_in} 已如所写，fail2ban 在运行且 `{status}` 有响应",
        "packages installed, {drop_in} as written, fail2ban active and `{status}` answers",
    ),
    "plan.note.ufw_install": (
        "只在 ufw 尚未安装时",
        "only when ufw is not installed",
    ),
    "plan.note.firewall_apply": (
        "{port} 是这次登录的端口；若 $SSH_CONNECTION 中服务器端的端口不同（端口转"
        "发），则使用后者；只在 ufw 的设置尚未是 DROP 时才设置 ufw default den"
        "y incoming。ufw 已启用、拒绝入站且已有每条规则时跳过",
        "{port} is this login's port; the server-side port from $SSH_CONNECTION is used if it differs "
        "(port forwarding); ufw default deny incoming only when ufw's settings do not say DROP "
        "already. Skipped when ufw is already active, denies incoming and has every rule",
    ),
    "plan.note.firewall_proof": (
        "一个全新的连接（同一登录、同一主机密钥）必须仍能进入；否则通过仍打开的会话撤销上面的每项改动（u"
        "fw delete、default、disable），本步骤失败",
        "a brand-new connection (same login, same host key) must still get in; if not, every change "
        "above is undone through the open session (ufw delete, default, disable) and the step fails",
    ),
    "plan.check.firewall": (
        "{files} 中的 ENABLED 和 DEFAULT_INPUT_POLICY（即 ufw "
        "status 所报告的）以及 ufw show added：已启用、默认拒绝入站、每条规则都在",
        "ENABLED and DEFAULT_INPUT_POLICY in {files} (what ufw status reports) and ufw show added: "
        "active, default deny incoming, every rule present",
    ),
    "plan.note.hostname": (
        "先把 /etc/hosts 的 127.0.1.1 行改为 {entry}，让 sudo 能解析"
        "新名字；没有 systemd 时用 /etc/hostname 和 hostname 代替 ho"
        "stnamectl",
        "the 127.0.1.1 line of /etc/hosts becomes {entry} first, so sudo resolves the new name; "
        "without systemd, /etc/hostname and hostname instead of hostnamectl",
    ),
    "plan.check.hostname": (
        "hostnamectl --static、hostname 和 /etc/hosts 的 127.0.1.1 行已是 {name}",
        "hostnamectl --static, hostname and the 127.0.1.1 line of /etc/hosts already say {name}",
    ),
    "plan.note.timezone": (
        "只在服务器认识 {zone} 时（timedatectl list-timezones 或 /u"
        "sr/share/zoneinfo）；未知的时区使本步骤失败，什么也不改",
        "only when the server knows {zone} (timedatectl list-timezones, or /usr/share/zoneinfo); an "
        "unknown zone fails the step with nothing changed",
    ),
    "plan.check.timezone": (
        "timedatectl show -p Timezone --value 已是 {zone}",
        "timedatectl show -p Timezone --value is already {zone}",
    ),
    "plan.note.script_upload": (
        "以登录用户运行，不使用 PTY：下面的脚本经标准输入写入新的 {file}（权限 600）",
        "as the login user, no PTY: the script below goes to stdin, into a new {file} (mode 600)",
    ),
    "plan.note.script_run": (
        "以 root 运行；输出实时写入日志",
        "as root; its output is streamed into the log",
    ),
    "plan.note.script_remove": (
        "之后运行，脚本失败时也运行",
        "afterwards, even when the script failed",
    ),
    "plan.note.hardening_port": (
        "只在 ufw 已启用时；在 sshd 换端口之前",
        "only when ufw is active; before sshd moves",
    ),
    "plan.note.hardening_write": (
        "在有 systemd 的服务器上，先启动一个计时器（{unit}），它会放回之前的配置片段并重启"
        " sshd，新登录被证明可用后停止它（失效保护）；配置片段已如所写且 sshd -T 显示如此时"
        "，与其余命令一起跳过；{tail}",
        "where systemd runs, a timer ({unit}) that puts the earlier drop-in back and restarts sshd is "
        "armed first and stopped once the new login is proven (a dead man's switch); skipped, with "
        "the rest, when the drop-in is as written and sshd -T shows it; {tail}",
    ),
    "plan.note.hardening_socket": (
        "ssh.socket 在运行时拒绝（Ubuntu 22.10+：sshd 监听 socket 指定的地方）",
        "refused when ssh.socket is active (Ubuntu 22.10+: sshd listens where the socket says)",
    ),
    "plan.note.hardening_keep": (
        "之前的配置片段保留在旁边，直到证明完成",
        "the earlier drop-in is kept beside it until the proof",
    ),
    "plan.note.hardening_reload": (
        "重新加载 sshd，并等待其日志中的 'Server listening' 行",
        "reloads sshd and waits for its 'Server listening' journal line",
    ),
    "plan.note.hardening_by_person": (
        "由你在自己的终端里登录：运行最多等待 {seconds} 秒你的确认 (confirm_login)，没有确认就回滚",
        "by you, from your own terminal: the run waits up to {seconds} s for your confirmation "
        "(confirm_login) and rolls back without it",
    ),
    "plan.note.hardening_by_admin_key": (
        "用管理员用户的新密钥",
        "with the admin user's new key",
    ),
    "plan.note.hardening_by_login": (
        "用这次运行自己的登录",
        "with this run's own login",
    ),
    "plan.note.hardening_by_key": (
        "用这次运行自己的密钥（密码登录将关闭）",
        "with this run's own key (password login goes off)",
    ),
    "plan.note.hardening_root_way": (
        "，并以管理员用户成为 root（sudo -n true，或用其新密码 sudo -S）",
        " and becomes root as the admin user (sudo -n true, or sudo -S with its new password)",
    ),
    "plan.note.hardening_proof": (
        "以新方式全新登录一次，{how}{root_way}，同时本会话保持打开。无法证明这样的登录或成"
        "为 root 的途径时，整个计划在任何改动之前就被拒绝。失败时：{restore}、mkdir "
        "-p /run/sshd、sshd -t、再次重新加载（sshd 已退出时重启）{ufw_und"
        "o}、以旧方式全新登录一次，本步骤失败{old_port}",
        "a brand-new login the new way, {how},{root_way} while this session stays open. The whole "
        "plan is refused before any change when no such login, or no way to root, can be proven. If "
        "it fails: {restore}, mkdir -p /run/sshd, sshd -t, the reload again (a restart when sshd "
        "died){ufw_undo}, a brand-new login the old way, and the step fails{old_port}",
    ),
    "plan.note.hardening_ufw_undo": (
        "、本步骤添加过时 ufw --force delete {rule}",
        ", ufw --force delete {rule} when this step added it",
    ),
    "plan.note.hardening_old_port": (
        "。成功后：ufw --force delete {rule}（旧端口），除非 firewall_ports 要求该端口",
        ". Once it works: ufw --force delete {rule} (the old port), unless firewall_ports asks for that port",
    ),
    "plan.check.hardening": (
        "{drop_in} 已如所写，且 sshd -T 显示其设置",
        "{drop_in} as written and sshd -T shows its settings",
    ),
    "plan.note.connect_login": (
        "主机密钥必须与记录的（或已确认的）指纹一致；新服务器的指纹会被记录",
        "the host key must match the recorded (or confirmed) fingerprint; a new server's is recorded",
    ),
    "plan.note.connect_facts": (
        "以登录用户运行，不使用 PTY：服务器端的 SSH 端口、/etc/os-release、uid"
        "、PID 1 是否为 systemd、正在监听的 TCP 端口 (ss -ltn) 以及 sud"
        "o -n true 的结果；不是 Debian 或 Ubuntu、新的 SSH 端口已被占用，或"
        "需要 systemd 的步骤而没有 systemd，都会在任何改动之前在这里停止计划",
        "as the login user, no PTY: the server-side SSH port, /etc/os-release, the uid, whether PID 1 "
        "is systemd, the listening TCP ports (ss -ltn) and what sudo -n true says; anything but "
        "Debian or Ubuntu, a new SSH port already taken, or a step that needs systemd without it "
        "stops the plan here, before any change",
    ),
    "plan.note.sudo_root": (
        "以 root 登录：不用 sudo；下面的命令原样以 root 运行",
        "root login: no sudo; the commands below run as root as they are",
    ),
    "plan.note.sudo_check": (
        "只在 sudo -n true（由连接步骤读取）要求密码时：{placeholder} 回答提示"
        "一次；再次提示则停止运行（密码错误）",
        "only when sudo -n true (read by connect) asked for a password: {placeholder} answers the "
        "prompt once; a second prompt stops the run (wrong password)",
    ),
    "plan.note.sudo_later": (
        "之后的每条命令都在 bash 中以 root 运行，标准输入来自 /dev/null：sudo "
        "-n -- bash -c COMMAND（免密码 sudo），或 sudo -k -S -p "
        "{prompt} -- bash -c COMMAND 加 {placeholder}",
        "every later command runs as root in bash with stdin from /dev/null: sudo -n -- bash -c "
        "COMMAND (passwordless sudo), or sudo -k -S -p {prompt} -- bash -c COMMAND with {placeholder}",
    ),
}

_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Msg:
    """A catalogued message: ``str()`` is the Chinese text the seed contract shows."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: Lang = "zh") -> str:
        """The message in ``lang``."""
        return render(self.code, self.params, lang)

    def as_param(self) -> dict[str, Any]:
        """The nested form, as another message's parameter."""
        return {"code": self.code, "params": self.params}

    def __str__(self) -> str:
        return self.text("zh")


def msg(code: str, **params: Any) -> Msg:
    """A message by code (the code must be in :data:`CATALOGUE`)."""
    if code not in CATALOGUE:
        raise KeyError(code)
    return Msg(code, {key: _param(value) for key, value in params.items()})


def text_msg(text: str) -> Msg:
    """An uncatalogued text (shown as it is in every language)."""
    return Msg("text", {"text": text})


def _param(value: Any) -> Any:
    if isinstance(value, Msg):
        return value.as_param()
    if isinstance(value, list | tuple):
        return [_param(item) for item in value]
    return value


def render(code: str, params: dict[str, Any] | None, lang: Lang = "zh") -> str:
    """Render ``code`` with ``params`` in ``lang`` (see the module's rules)."""
    params = params or {}
    templates = CATALOGUE.get(code)
    if templates is None:
        return str(params.get("text", code))
    template = templates[LANGS.index(lang)]
    return _FIELD.sub(lambda m: _render_value(params.get(m.group(1), ""), lang), template)


def _render_value(value: Any, lang: Lang) -> str:
    if isinstance(value, dict) and "code" in value:
        return render(str(value["code"]), value.get("params") or {}, lang)
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(_render_value(item, lang) for item in value)
    return str(value)


def catalogue() -> dict[str, dict[str, str]]:
    """``{"zh": {code: template}, "en": {code: template}}``."""
    return {lang: {code: texts[i] for code, texts in CATALOGUE.items()} for i, lang in enumerate(LANGS)}


def catalogue_json() -> str:
    """The catalogue as JSON, for the page (UTF-8 text, keys sorted)."""
    return json.dumps(catalogue(), ensure_ascii=False, sort_keys=True, indent=1)
