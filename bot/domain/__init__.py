"""The pure core: values in, values out. Nothing here awaits, logs, reads a clock or opens a socket."""
