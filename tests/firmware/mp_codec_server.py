# Codec server for interoperability tests: reads length-prefixed CBOR items on stdin, decodes each
# with the firmware codec, encodes the value again and answers with a status byte (0 ok, 1 refused)
# and a length-prefixed body (the re-encoding, or the error text).
# Usage: micropython mp_codec_server.py FIRMWARE_DIR
import struct
import sys

sys.path.insert(0, sys.argv[1])
from controller import cbor  # noqa: E402

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer
while True:
    head = stdin.read(4)
    if not head or len(head) < 4:
        break
    size = struct.unpack("<I", head)[0]
    data = stdin.read(size) if size else b""
    try:
        body = cbor.dumps(cbor.loads(data))
        status = 0
    except cbor.CBORError as exc:
        body = str(exc).encode()
        status = 1
    stdout.write(struct.pack("<BI", status, len(body)))
    stdout.write(body)
