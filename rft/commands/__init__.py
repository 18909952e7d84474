"""Thin Typer commands, one module per stage: parse options, build a config, call the stage."""
