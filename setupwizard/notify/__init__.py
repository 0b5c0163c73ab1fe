"""Notifications: each user's apprise targets, told when a setup ends."""
