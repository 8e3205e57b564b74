"""The chat app's pure views and callbacks (no Gradio import; ``app.py`` wires them)."""
