"""Shared by the benchmark scripts: systemd test containers and playbook runs against them."""
