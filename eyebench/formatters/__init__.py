"""The text the commands print, made from the result types (one module per family of results)."""
