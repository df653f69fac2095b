"""The remote terminal without Textual: key map, the one decoder, the ~-escape filter."""
