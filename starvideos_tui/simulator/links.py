"""Signed video links as real object stores mint them, so that the deadline a client reads
from a link is exercised against each store's format (and the host enforces it: 403 after).

The kind of link follows the task id, so one task always gets the same kind: S3 SigV4,
Google Cloud Storage V4, Alibaba OSS (`Expires=` epoch), Azure SAS (`se=`), Tencent COS
(`q-sign-time=start;end`), and a plain link with a bare `token=` that says nothing of its
deadline (the host's answers do: `x-amz-expiration`, see server.py). The signature is the
simulator's own random token.
"""

from __future__ import annotations

import time
import zlib
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

KINDS = ("s3", "gcs", "oss", "azure", "cos", "plain")
# Where each kind carries its signature: the token the video host checks.
SIGNATURE_KEYS = ("x-amz-signature", "x-goog-signature", "signature", "sig", "q-signature", "token")


def kind_for(task_id: str) -> str:
    return KINDS[zlib.crc32(task_id.encode()) % len(KINDS)]


def signed_link(base_url: str, task_id: str, token: str, issued: float, ttl: float) -> str:
    """The URL of the task's video, signed at Unix time `issued`, dead `ttl` s later."""
    lifetime = max(1, round(ttl))
    start = int(issued)
    end = start + lifetime
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start))
    day = stamp[:8]
    params: list[tuple[str, str]]
    kind = kind_for(task_id)
    if kind == "s3":
        params = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"SIMULATOR/{day}/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", str(lifetime)),
            ("X-Amz-SignedHeaders", "host"),
            ("X-Amz-Signature", token),
        ]
    elif kind == "gcs":
        params = [
            ("X-Goog-Algorithm", "GOOG4-RSA-SHA256"),
            (
                "X-Goog-Credential",
                f"sim@starvideos.iam.gserviceaccount.com/{day}/auto/storage/goog4_request",
            ),
            ("X-Goog-Date", stamp),
            ("X-Goog-Expires", str(lifetime)),
            ("X-Goog-SignedHeaders", "host"),
            ("X-Goog-Signature", token),
        ]
    elif kind == "oss":
        params = [("OSSAccessKeyId", "SIMULATOR"), ("Expires", str(end)), ("Signature", token)]
    elif kind == "azure":
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end))
        params = [("sv", "2022-11-02"), ("se", expiry), ("sr", "b"), ("sp", "r"), ("sig", token)]
    elif kind == "plain":
        params = [("token", token)]
    else:
        params = [
            ("q-sign-algorithm", "sha1"),
            ("q-ak", "SIMULATOR"),
            ("q-sign-time", f"{start};{end}"),
            ("q-key-time", f"{start};{end}"),
            ("q-signature", token),
        ]
    return f"{base_url}/videos/{quote(task_id)}.mp4?{urlencode(params)}"


def token_of(path: str) -> str:
    """The signature a request's query carries, whatever kind of link it was."""
    for key, value in parse_qsl(urlsplit(path).query, keep_blank_values=True):
        if key.lower() in SIGNATURE_KEYS:
            return value
    return ""
