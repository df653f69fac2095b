"""The simulated device's WS-Management side: state, AMT's rules, replies and the HTTP server."""
