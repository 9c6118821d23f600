"""Exceptions raised by the `alerts` package.

Every exception derives from `AlertsError`, so a caller can catch the package's
failures in one place. The engine itself does not raise on clinical input: bad
readings are skipped and commands on unknown alarms return a `CommandRejected`
result. Exceptions are kept for configuration and programming errors.

* `ProfileError`: a profile file or a session override is not valid. The message
  names the offending key (``rules.spo2_low.reset``) and what it must be.
* `SessionError`: a session operation that cannot be done as asked (opening a
  session twice, querying one that is not open).
"""


class AlertsError(Exception):
    """Root of every exception the `alerts` package raises."""


class ProfileError(AlertsError):
    """A profile or a session override is not valid; the message names the key."""


class SessionError(AlertsError):
    """A session operation that cannot be done as asked."""
