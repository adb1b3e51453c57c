"""``type = "syslog"``: receive syslog over UDP, TCP (optionally TLS) and unix sockets."""
