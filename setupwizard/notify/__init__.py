"""Notifications: each user's apprise targets, told when a setup ends.

apprise's own log quotes whole URLs, tokens and webhook paths included (``Loaded JSON URL: …`` at debug,
``Unsupported URL: …`` at error), and a URL is a secret here: its records are never made. What failed is
logged by this package, naming the target, never its URL.
"""

import logging

logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)
