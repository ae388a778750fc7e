"""A signed link's deadline, read from the link: each store's format, and links presigned
by botocore itself (no network needed to presign)."""

from __future__ import annotations

import calendar
import time

import pytest

from starvideos_tui.core.linkexpiry import host_says, link_expires_at

# 2026-12-03 14:30:00 UTC
AT = calendar.timegm((2026, 12, 3, 14, 30, 0, 0, 0, 0))

FORMATS = {
    "s3-sigv4": (
        "https://bucket.s3.us-east-1.amazonaws.com/v/a.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIA%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20261203T143000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=abc123",
        AT + 3600,
    ),
    "s3-sigv4-lower-case": (
        "https://minio.local/v/a.mp4?x-amz-date=20261203T143000Z&x-amz-expires=600&x-amz-signature=f",
        AT + 600,
    ),
    "gcs-v4": (
        "https://storage.googleapis.com/b/a.mp4?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        "&X-Goog-Credential=sa%40p.iam.gserviceaccount.com%2F20261203%2Fauto%2Fstorage%2Fgoog4_request"
        "&X-Goog-Date=20261203T143000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host"
        "&X-Goog-Signature=0a1b",
        AT + 900,
    ),
    "s3-sigv2": (
        f"https://bucket.s3.amazonaws.com/a.mp4?AWSAccessKeyId=AKIA&Expires={AT}&Signature=x%3D",
        AT,
    ),
    "oss": (
        f"https://b.oss-cn-hangzhou.aliyuncs.com/a.mp4?OSSAccessKeyId=L&Expires={AT}&Signature=s",
        AT,
    ),
    "cloudfront": (
        f"https://d111111abcdef8.cloudfront.net/a.mp4?Expires={AT}&Signature=s~&Key-Pair-Id=K",
        AT,
    ),
    "cos": (
        "https://b-125.cos.ap-guangzhou.myqcloud.com/a.mp4?q-sign-algorithm=sha1&q-ak=A"
        f"&q-sign-time={AT - 3600}%3B{AT}&q-key-time={AT - 3600}%3B{AT}&q-signature=s",
        AT,
    ),
    "cos-in-sign": (
        "https://b-125.cos.ap-guangzhou.myqcloud.com/a.mp4?sign=q-sign-algorithm%3Dsha1"
        f"%26q-sign-time%3D{AT - 60}%253B{AT}%26q-signature%3Ds",
        AT,
    ),
    "azure-sas": (
        "https://acct.blob.core.windows.net/c/a.mp4?sv=2022-11-02&st=2026-12-03T13%3A30%3A00Z"
        "&se=2026-12-03T14%3A30%3A00Z&sr=b&sp=r&sig=abc%3D",
        AT,
    ),
    "azure-sas-offset": (
        "https://a.blob.core.windows.net/c/a.mp4?se=2026-12-03T16:30:00%2B02:00&sig=x",
        AT,
    ),
    "azure-sas-date-only": (
        "https://a.blob.core.windows.net/c/a.mp4?se=2026-12-04&sig=x",
        AT + 9.5 * 3600,
    ),
}


@pytest.mark.parametrize("url, expected", FORMATS.values(), ids=FORMATS)
def test_each_stores_signed_link_says_when_it_dies(url: str, expected: float) -> None:
    assert link_expires_at(url) == expected


NOT_SAID = {
    "no query": "https://cdn.example.com/v/a.mp4",
    "a plain token": "https://cdn.example.com/v/a.mp4?token=abc",
    "expires not a number": "https://cdn.example.com/a.mp4?Expires=tomorrow",
    "expires in milliseconds, out of range": "https://x/a.mp4?Expires=1764772200000",
    "amz date without a lifetime": "https://x/a.mp4?X-Amz-Date=20261203T143000Z",
    "amz date that is not a date": "https://x/a.mp4?X-Amz-Date=20261340T990000Z&X-Amz-Expires=5",
    "negative lifetime": "https://x/a.mp4?X-Amz-Date=20261203T143000Z&X-Amz-Expires=-5",
    "se not a date": "https://x/a.mp4?se=soon&sig=x",
    "a deadline in 1970": "https://x/a.mp4?Expires=60",
    "empty": "",
}


@pytest.mark.parametrize("url", NOT_SAID.values(), ids=NOT_SAID)
def test_a_link_that_does_not_say_has_no_known_deadline(url: str) -> None:
    assert link_expires_at(url) is None


# -- the real thing: botocore's own presigner --------------------------------------------


def _s3(signature_version: str):  # type: ignore[no-untyped-def]
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version=signature_version),
    )


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
@pytest.mark.parametrize("lifetime", [60, 3600, 7 * 86400])
def test_links_presigned_by_botocore_parse_to_the_expiry_it_put_in_them(
    signature_version: str, lifetime: int
) -> None:
    client = _s3(signature_version)
    before = int(time.time())
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "videos", "Key": "a b/c.mp4"}, ExpiresIn=lifetime
    )
    after = int(time.time()) + 1
    expires = link_expires_at(url)
    assert expires is not None, url
    assert before + lifetime <= expires <= after + lifetime, (url, expires - lifetime - before)


def test_cloudfront_links_signed_by_botocore_parse_to_their_expiry() -> None:
    pytest.importorskip("boto3")
    import datetime

    from botocore.signers import CloudFrontSigner

    signer = CloudFrontSigner("KEYPAIRID", lambda message: b"signature")
    deadline = datetime.datetime(2026, 12, 3, 14, 30, tzinfo=datetime.UTC)
    url = signer.generate_presigned_url("https://d1.cloudfront.net/a.mp4", date_less_than=deadline)
    assert link_expires_at(url) == AT


# -- what a host's answer to a HEAD of the link says ------------------------------------

NOW = 1_796_300_000.0


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        pytest.param(403, {}, NOW, id="refused-is-dead-now"),
        pytest.param(410, {}, NOW, id="gone-is-dead-now"),
        pytest.param(
            200,
            {"x-amz-expiration": 'expiry-date="Fri, 04 Dec 2026 00:00:00 GMT", rule-id="ttl"'},
            calendar.timegm((2026, 12, 4, 0, 0, 0, 0, 0, 0)),
            id="s3-lifecycle",
        ),
        pytest.param(
            206,
            {"x-ms-expiry-time": "Thu, 03 Dec 2026 18:00:00 GMT"},
            calendar.timegm((2026, 12, 3, 18, 0, 0, 0, 0, 0)),
            id="azure-expiry-time",
        ),
        pytest.param(200, {}, None, id="says-nothing"),
        pytest.param(200, {"x-amz-expiration": 'expiry-date="soon"'}, None, id="garbled"),
        pytest.param(200, {"x-ms-expiry-time": "Mon, 01 Jan 1900 00:00:00 GMT"}, None, id="absurd"),
        pytest.param(500, {"x-ms-expiry-time": "Thu, 03 Dec 2026 18:00:00 GMT"}, None, id="error"),
        pytest.param(302, {}, None, id="redirect-not-followed-here"),
    ],
)
def test_a_hosts_answer_to_the_link_says_when_it_dies(
    status: int, headers: dict[str, str], expected: float | None
) -> None:
    assert host_says(status, headers, NOW) == expected
