"""The audit trail: who logged in, started, cancelled or deleted setups, changed users, saved sudo rows."""
