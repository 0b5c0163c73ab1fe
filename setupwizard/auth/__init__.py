"""Users, login tokens, and who may call what."""
