"""Body codings decoded as servers decode them, with the limit on the decoded size."""

import gzip
import zlib

import brotli
import pytest

from llm_dlp.protocols.encoding import decode_body, encode_body
from llm_dlp.protocols.strictjson import BodyError

try:
    from compression import zstd
except ImportError:
    from backports import zstd

BODY = b'{"messages": [{"role": "user", "content": "hello"}]}'


def test_every_gzip_member_is_decoded():
    assert decode_body(gzip.compress(b"first ") + gzip.compress(b"second"), "gzip") == b"first second"


def test_gzip_zero_padding_is_ignored_but_other_trailing_data_refused():
    assert decode_body(gzip.compress(BODY) + b"\x00" * 8, "gzip") == BODY
    with pytest.raises(BodyError) as e:
        decode_body(gzip.compress(BODY) + b"junk", "gzip")
    assert e.value.status == 400


def test_deflate_is_read_as_zlib_or_raw():
    raw = zlib.compressobj(wbits=-15)
    assert decode_body(zlib.compress(BODY), "deflate") == BODY
    assert decode_body(raw.compress(BODY) + raw.flush(), "deflate") == BODY


def test_brotli_and_every_zstd_frame():
    assert decode_body(brotli.compress(BODY), "br") == BODY
    assert decode_body(zstd.compress(b"one ") + zstd.compress(b"two"), "zstd") == b"one two"


def test_codings_are_undone_last_applied_first_transfer_codings_included():
    wire = gzip.compress(brotli.compress(BODY))
    assert decode_body(wire, "br", "gzip, chunked") == BODY
    assert decode_body(zlib.compress(gzip.compress(BODY)), "gzip, deflate") == BODY


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_compression_bomb_is_refused_with_413(coding):
    bomb = encode_body(b"\x00" * (64 << 20), coding)
    assert len(bomb) < 1 << 20
    with pytest.raises(BodyError) as e:
        decode_body(bomb, coding, limit=1 << 20)
    assert e.value.status == 413 and e.value.reason == "body_too_large"


def test_a_second_member_counts_towards_the_limit():
    with pytest.raises(BodyError) as e:
        decode_body(gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600), "gzip", limit=1000)
    assert e.value.status == 413


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_truncated_or_broken_bodies_are_refused(coding):
    wire = encode_body(BODY * 50, coding)
    for broken in (wire[: len(wire) // 2], b"\x07" + wire[1:]):
        with pytest.raises(BodyError) as e:
            decode_body(broken, coding)
        assert e.value.status == 400


def test_unknown_coding_is_refused():
    with pytest.raises(BodyError, match="cannot inspect"):
        decode_body(BODY, "compress")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd", "gzip, br", ""])
def test_re_encoding_round_trips(coding):
    assert decode_body(encode_body(BODY, coding), coding) == BODY


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_stream_is_decoded_piece_by_piece(coding):
    from llm_dlp.protocols.encoding import StreamDecoder

    events = b"".join(b'data: {"n": %d}\n\n' % i for i in range(200))
    wire = encode_body(events[:1000], coding) + (encode_body(events[1000:], coding) if coding in ("gzip", "zstd") else b"")
    if coding not in ("gzip", "zstd"):
        wire = encode_body(events, coding)
    decoder = StreamDecoder(coding)
    assert b"".join(decoder.feed(wire[i : i + 7]) for i in range(0, len(wire), 7)) == events
