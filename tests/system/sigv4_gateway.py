#!/usr/bin/python3
"""A gateway in front of s3rver that checks each request's SigV4 signature
with botocore (the one Debian's awscli carries), which s3rver does not:
a request whose signature botocore does not compute for the secret key is
answered 403 SignatureDoesNotMatch as S3 answers it; the others go on to
s3rver unchanged.

    sigv4_gateway.py LISTEN_PORT S3RVER_PORT ACCESS_KEY SECRET_KEY

Prints "ready" once it listens."""

import http.client
import http.server
import re
import sys

import awscli  # noqa: F401 (makes its botocore importable as botocore)
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

listen_port, upstream_port, access_key, secret_key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
AUTHORIZATION = re.compile(
    r'AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$')


def expected_signature(method, target, headers, region, signed_names):
    """The signature botocore computes for the request as it came."""
    signed = {name: headers[name] for name in signed_names}
    request = AWSRequest(method=method, url='http://' + headers['host'] + target, headers=signed)
    request.context['timestamp'] = headers['x-amz-date']
    auth = S3SigV4Auth(Credentials(access_key, secret_key), 's3', region)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


class Gateway(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ('connection', 'transfer-encoding', 'content-length'):
                self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        match = AUTHORIZATION.match(headers.get('authorization', ''))
        names = match.group(4).split(';') if match else []
        if not match or any(name not in headers for name in names) or match.group(5) != expected_signature(
                self.command, self.path, headers, match.group(3), names):
            self.answer(403, [('Content-Type', 'application/xml')],
                        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>'
                        b'<Message>The request signature we calculated does not match the signature you provided.'
                        b' Check your key and signing method.</Message></Error>')
            return
        upstream = http.client.HTTPConnection('127.0.0.1', upstream_port)
        upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
        response = upstream.getresponse()
        self.answer(response.status, response.getheaders(), response.read())
        upstream.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(('127.0.0.1', listen_port), Gateway)
print('ready', flush=True)
server.serve_forever()
