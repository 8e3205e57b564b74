"""The agent loop: graph, runner, model factory, sessions, tokens, trace and redaction."""
