"""Notifications (issue 21 §3): each user's apprise targets, told when a setup ends."""
