"""Payment rails: the legacy network (PyOTA) and IOTA Rebased (iota-sdk)."""
