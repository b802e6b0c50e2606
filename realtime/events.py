"""Event names the socket layer itself sends."""

ERROR = "error"
