"""docs/grafana-dashboard.json asks only for series the service exports, and deploy.md lists them all."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import setupwizard.metrics.registry  # noqa: F401  (registers the metrics)

DOCS = Path(__file__).resolve().parents[3] / "docs"


def exported_samples() -> set[str]:
    text = generate_latest(REGISTRY).decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names.add(family.name)
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_series_the_dashboard_reads_is_exported() -> None:
    exported = exported_samples()
    for expr in dashboard_exprs():
        for name in re.findall(r"\b((?:setupwizard|process)_[a-z_]+)\b", expr):
            if name.endswith("_bucket"):
                name = name.removesuffix("_bucket")
            assert name in exported, f"the dashboard reads {name}, which /metrics does not export"


def test_deploy_md_lists_every_setupwizard_metric() -> None:
    text = (DOCS / "deploy.md").read_text()
    families = {
        family.name
        for family in text_string_to_metric_families(generate_latest(REGISTRY).decode())
        if family.name.startswith("setupwizard_")
    }
    for name in families:
        documented = name in text or f"{name}_total" in text
        assert documented, f"docs/deploy.md does not list {name}"
