"""Sans-IO codec of the AMT redirection protocol (ports 16994/16995).

Stdlib only: no asyncio, no sockets, no clock.
"""
