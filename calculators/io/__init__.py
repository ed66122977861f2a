"""Reading and writing media and results: images, video frames, JSONL pose files."""
