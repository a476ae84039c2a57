"""One module per command, as scriv does; each stays thin: parse, call the core, print."""
