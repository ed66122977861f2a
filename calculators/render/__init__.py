"""Drawing poses onto frames: skeleton topologies and OpenCV rendering."""
