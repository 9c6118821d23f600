"""The `vigil` command line: one subcommand per process of the pipeline."""
