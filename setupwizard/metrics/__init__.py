"""Prometheus metrics of this process (``GET /metrics``, or ``SETUPWIZARD_METRICS_ADDRESS``)."""
