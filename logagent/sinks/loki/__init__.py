"""The Grafana Loki sink (``type = "loki"``): config, label rules, push encoding, delivery."""
