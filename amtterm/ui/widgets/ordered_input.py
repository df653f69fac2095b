"""OrderedInput: an Input that keeps fast typing in order.

Textual's Input inserts a printable key where it is focused, but runs its editing keys
(Backspace, Delete, Left, Home ...) as bindings only after the key event has bubbled up to the
app. When keys arrive in a burst (fast typing, a terminal delivering several at once), a later
letter is inserted before an earlier Backspace has run: "~/abc", three Backspaces and "xyz"
became "~/abc" again. This Input runs its own bindings where the key arrives, in order.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """An Input whose editing keys are handled in the order they were typed."""

    async def _on_key(self, event: events.Key) -> None:
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings and not event.is_printable:
            event.stop()
            event.prevent_default()
            self._restart_blink()
            for binding in bindings:
                await self.run_action(binding.action)
            return
        await super()._on_key(event)
