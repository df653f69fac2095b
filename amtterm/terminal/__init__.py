"""The remote terminal without Textual: key map, the one decoder, the one screen model, plain text of
the stream, the ~-escape filter (the console, share viewers, recordings and expect all use these)."""
