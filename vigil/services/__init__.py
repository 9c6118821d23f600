"""Real services for tests, the demo and benchmarks: Mosquitto and InfluxDB 2.x on loopback.

One implementation serves all three: `ServiceStack` starts what is asked for in a run directory
(configs, data, logs), and `vigil services up/down` drives the same code from a shell.
"""

from vigil.services.endpoints import Endpoints, InfluxEndpoint, MqttEndpoint
from vigil.services.stack import ServiceStack

__all__ = ["Endpoints", "InfluxEndpoint", "MqttEndpoint", "ServiceStack"]
