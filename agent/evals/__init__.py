"""Quality runs the CLI exposes: injections, recommendations, search."""
