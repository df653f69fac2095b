"""asyncio orchestration of sessions; never imports Textual."""
