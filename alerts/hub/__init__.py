"""Where alarms reach a clinician: the websockets hub behind the live dashboard.

Pure cores (tokens, passwords, protocol, delivery/escalation, resume buffer, client queues,
vitals throttle, the `HubCore` itself) with thin edges: `alerts.hub.mqtt` (aiomqtt in,
commands out), `alerts.hub.server` (websockets and HTTP on one port), `alerts.hub.audit_writer`
(InfluxDB). `run_hub` runs them together; `vigil hub` is its command line.
"""
