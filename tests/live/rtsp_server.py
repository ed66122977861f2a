"""A one-shot RTSP server for the live tests: serves an H.264 mp4 in real time at rtsp://127.0.0.1:PORT/live.

FFmpeg can listen for RTSP only as a receiver (`-rtsp_flags listen` takes a stream pushed to it), so a player needs
a real server: GStreamer's RTSP server library, through PyGObject. Debian:
`apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad`.
It runs under the interpreter that has `gi` (Debian's /usr/bin/python3), not the test's virtual environment, and
serves one player once and exits when it hangs up (exit code 3 when GStreamer is missing).

    python3 rtsp_server.py VIDEO PORT
"""

from __future__ import annotations

import sys


def main(video: str, port: str) -> int:
    try:
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as error:
        print(f"GStreamer's RTSP server is not available: {error}", file=sys.stderr)
        return 3
    Gst.init(None)
    loop = GLib.MainLoop()

    served: list[object] = []

    def on_client(_server, client):
        # one player, one play: when it hangs up (after the file's end, or on its own) the server goes away, as a
        # camera that is switched off would; a player reconnecting before that finds the door shut
        if served:
            client.close()
            return
        served.append(client)
        client.connect("closed", lambda _client: loop.quit())

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f'( filesrc location="{video}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 '
                       "config-interval=-1 )")
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/live", factory)
    server.connect("client-connected", on_client)
    server.attach(None)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
