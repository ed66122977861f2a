"""SSD-style detection math (anchors, box decoding, NMS) and detection -> ROI conversion."""
