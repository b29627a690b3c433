"""Sends N POST /predict requests one after another on one keep-alive connection and checks that
each is answered 200. Usage: sequential_predict.py N PORT"""
import socket
import sys

BODY = b'{"text": "The battery life is great and the screen is not bad at all"}'
REQUEST = (b"POST /predict?model=sentiment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))


def main():
    count, port = int(sys.argv[1]), int(sys.argv[2])
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    pending = b""
    for _ in range(count):
        connection.sendall(REQUEST)
        while True:
            end = pending.find(b"\r\n\r\n")
            if end >= 0:
                head = pending[:end].decode("latin-1")
                length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n")
                              if line.lower().startswith("content-length:"))
                if len(pending) >= end + 4 + length:
                    if not head.startswith("HTTP/1.1 200"):
                        sys.exit("unexpected answer: " + head.splitlines()[0])
                    pending = pending[end + 4 + length:]
                    break
            chunk = connection.recv(65536)
            if not chunk:
                sys.exit("the server closed the connection")
            pending += chunk


if __name__ == "__main__":
    main()
