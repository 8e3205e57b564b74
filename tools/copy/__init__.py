"""Copy: message templates, composition, channel rules, the guard and model rewriting."""
