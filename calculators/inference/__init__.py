"""Model runtimes: thin, checked wrappers around inference engines (TFLite / LiteRT, and optionally OpenVINO)."""
