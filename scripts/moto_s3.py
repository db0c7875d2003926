"""Serves moto's S3 app on 127.0.0.1:PORT as a stand-in for GCS's XML API, with the buckets
named on the command line already created (a name written `!name` refuses every request,
to test permission errors). Prints "ready" once it accepts requests.

object_store's GCS client speaks GCS's XML API, which is S3's wire protocol; moto answers
every call it makes, multipart uploads included. (moto writes an empty object on copy:
log-gardener does not copy.) A conditional create, GCS's `x-goog-if-generation-match: 0`
(the lake's commit protocol), is passed to moto as S3's `If-None-Match: *`, one at a time so
two racing creates cannot both pass moto's check; moto answers 412 as GCS does. State lives
in memory.

Usage: python scripts/moto_s3.py PORT [!]BUCKET...
"""

import json
import sys
import threading
import urllib.request

from moto.server import create_backend_app
from werkzeug.serving import make_server


class CreateIfAbsent:
    """WSGI middleware: GCS's create-only-if-absent precondition as S3's, serialised."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_GOOG_IF_GENERATION_MATCH") != "0":
            return self.app(environ, start_response)
        environ["HTTP_IF_NONE_MATCH"] = "*"
        with self.lock:
            return list(self.app(environ, start_response))


def main() -> None:
    port = int(sys.argv[1])
    app = CreateIfAbsent(create_backend_app("s3"))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for arg in sys.argv[2:]:
        bucket = arg.lstrip("!")
        effect = "Deny" if arg.startswith("!") else "Allow"
        url = f"http://127.0.0.1:{port}/{bucket}"
        urllib.request.urlopen(urllib.request.Request(url, method="PUT")).read()
        # Unsigned requests (GCS clients send a bearer token, not an AWS signature) are
        # refused on HEAD unless the bucket's policy lets everyone in.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": effect,
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
        req = urllib.request.Request(
            f"{url}?policy",
            data=json.dumps(policy).encode(),
            method="PUT",
            # Not a form: Flask would swallow a form-encoded body.
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req).read()
    print("ready", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
