"""The only code that opens sockets: TCP, TLS, SSH."""
