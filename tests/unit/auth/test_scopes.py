"""What each personal access token scope allows (the one rule ``auth/deps.py`` applies to every request)."""

from __future__ import annotations

import pytest

from setupwizard.auth.scopes import Scope, needed_scope, scope_allows

CASES = [
    # method, route path, narrowest scope that allows it
    ("GET", "/api/setup/sessions", Scope.READ),
    ("GET", "/api/audit", Scope.READ),
    ("GET", "/metrics", Scope.READ),
    ("HEAD", "/api/servers", Scope.READ),
    ("POST", "/api/setup/auto-setup", Scope.SETUP),
    ("POST", "/api/setup/sessions/{session_id}/cancel", Scope.SETUP),
    ("POST", "/api/setup/plan", Scope.SETUP),
    ("POST", "/api/fleets", Scope.SETUP),
    ("DELETE", "/api/setup/sessions/{session_id}", Scope.ADMIN),
    ("POST", "/api/tokens", Scope.ADMIN),
    ("DELETE", "/api/tokens/{token_id}", Scope.ADMIN),
    ("POST", "/api/users", Scope.ADMIN),
    ("DELETE", "/api/servers", Scope.ADMIN),
    ("POST", "/api/auth/password", Scope.ADMIN),
    ("POST", "/api/setupx", Scope.ADMIN),  # a prefix, not a substring
]


@pytest.mark.parametrize(("method", "path", "needed"), CASES)
def test_each_request_needs_the_narrowest_scope_that_names_it(method: str, path: str, needed: Scope) -> None:
    assert needed_scope(method, path) is needed
    order = list(Scope)
    for scope in Scope:
        assert scope_allows(scope, method, path) is (order.index(scope) >= order.index(needed)), scope
