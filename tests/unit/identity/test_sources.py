"""Identity sources: client certificates verified along their chain, Basic credentials, source maps."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from llm_dlp.identity.sources import ClientCertVerifier, SourceMap, parse_basic
from support.pki import _name

NOW = datetime.datetime.now(datetime.UTC)


def cert(cn: str, key, signer_key, issuer: x509.Name, *, ca: bool, days=(-1, 30), sans=()) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=days[0]))
        .not_valid_after(NOW + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
    )
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(signer_key, hashes.SHA256())


def key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root_key, inter_key, other_key = key(), key(), key()
    root = cert("corp root", root_key, root_key, _name("corp root"), ca=True)
    other_root = cert("corp root", other_key, other_key, _name("corp root"), ca=True)  # same name, different key
    inter = cert("corp issuing", inter_key, root_key, root.subject, ca=True)
    old_inter = cert("corp issuing", inter_key, root_key, root.subject, ca=True, days=(-60, -1))
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return {
        "root_key": root_key,
        "root": root,
        "other_root": other_root,
        "inter_key": inter_key,
        "inter": inter,
        "old_inter": old_inter,
        "other_key": other_key,
        "ca_file": ca_file,
    }


def test_a_leaf_issued_by_the_ca_names_its_user(pki):
    leaf = cert("alice", key(), pki["root_key"], pki["root"].subject, ca=False)
    assert ClientCertVerifier(pki["ca_file"], "cn").user([leaf]) == "alice"


def test_a_leaf_issued_by_an_intermediate_is_verified_through_it(pki):
    leaf = cert("bob", key(), pki["inter_key"], pki["inter"].subject, ca=False, sans=[x509.RFC822Name("bob@corp.example")])
    verifier = ClientCertVerifier(pki["ca_file"], "san_email")
    assert verifier.user([leaf, pki["inter"]]) == "bob@corp.example"
    assert verifier.user([leaf]) is None  # the intermediate is needed to reach the root


def test_an_expired_intermediate_breaks_the_chain(pki):
    leaf = cert("carol", key(), pki["inter_key"], pki["inter"].subject, ca=False)
    assert ClientCertVerifier(pki["ca_file"], "cn").user([leaf, pki["old_inter"]]) is None


def test_a_wrong_root_with_the_same_name_is_refused(pki):
    leaf = cert("mallory", key(), pki["other_key"], pki["other_root"].subject, ca=False)
    assert ClientCertVerifier(pki["ca_file"], "cn").user([leaf, pki["other_root"]]) is None


def test_an_expired_or_not_yet_valid_leaf_is_refused(pki):
    for days in ((-30, -1), (1, 30)):
        leaf = cert("dave", key(), pki["root_key"], pki["root"].subject, ca=False, days=days)
        assert ClientCertVerifier(pki["ca_file"], "cn").user([leaf]) is None


def test_a_leaf_that_is_itself_a_ca_cannot_issue_a_user(pki):
    fake_inter_key = key()
    fake_inter = cert("not a ca", fake_inter_key, pki["root_key"], pki["root"].subject, ca=False)
    leaf = cert("eve", key(), fake_inter_key, fake_inter.subject, ca=False)
    assert ClientCertVerifier(pki["ca_file"], "cn").user([leaf, fake_inter]) is None


def test_basic_credentials():
    assert parse_basic("Basic " + base64.b64encode(b"alice:pa:ss").decode()) == ("alice", "pa:ss")
    assert parse_basic("Bearer abc") is None and parse_basic("Basic !!!") is None


def test_the_most_specific_network_wins():
    m = SourceMap({"10.0.0.0/8": "lab", "10.1.2.3": "alice", "fd00::/8": "v6"})
    assert m.user("10.1.2.3") == "alice" and m.user("10.9.9.9") == "lab" and m.user("::ffff:10.1.2.3") == "alice"
    assert m.user("fd00::1") == "v6" and m.user("192.0.2.1") is None and m.user("not an address") is None
