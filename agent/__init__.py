"""The agent: settings, chat models, the tool loop, traces, batch drafting and the CLI."""
