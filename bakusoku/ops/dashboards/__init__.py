"""The operations dashboards bakusoku ships: one list of panels, drawn for Grafana and CloudWatch."""
