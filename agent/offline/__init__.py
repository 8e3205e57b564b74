"""The embedded offline model: request reading and routing, vocabulary, answers."""
