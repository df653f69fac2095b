"""WS-Management: pure envelope builders and parsers, and one httpx client."""
