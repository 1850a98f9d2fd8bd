"""The CLI's commands: one module per verb, each with add_parser(subparsers) and run(args) -> int."""
