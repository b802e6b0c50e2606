"""Agora token building checked against Agora's published test vectors."""

import json
from pathlib import Path

import pytest
from agora_token_builder.AccessToken import AccessToken

from meetings.agora import AccessToken2, build_rtc_token
from tests.meetings.agora_decode import decode_token_006, decode_token_007, verify_token_006, verify_token_007

VECTORS = json.loads((Path(__file__).with_name("agora_vectors.json")).read_text())
SHARED = VECTORS["shared"]
V006 = VECTORS["v006"]
V007 = VECTORS["v007"]
WRONG_CERTIFICATE = "0" * 32
ISSUED_AT = 1_700_000_000


def _cases(version, **match):
    cases = [c for c in version["cases"] if all(c[k] == v for k, v in match.items())]
    return pytest.mark.parametrize("case", cases, ids=[c["name"] for c in cases])


def _build_v007_vector(case):
    token = AccessToken2(
        app_id=SHARED["appId"],
        app_certificate=SHARED["appCertificate"],
        issue_ts=V007["issueTs"],
        expire=V007["expire"],
        salt=V007["salt"],
    )
    privileges = {int(k): v for k, v in case["privileges"].items()}
    token.add_rtc_service(SHARED["channelName"], case["uid"], privileges)
    return token.build()


def _build_rtc_token(**overrides):
    kwargs = {
        "app_id": SHARED["appId"],
        "app_certificate": SHARED["appCertificate"],
        "channel_name": SHARED["channelName"],
        "uid": SHARED["uid"],
    }
    return build_rtc_token(**(kwargs | overrides))


@_cases(V007, encoder="python")
def test_v007_vector_token_string_reproduced_exactly(case):
    assert _build_v007_vector(case) == case["token"]


@_cases(V007, encoder="go")
def test_v007_go_vector_has_same_payload_and_signature_as_ours(case):
    assert decode_token_007(_build_v007_vector(case)) == decode_token_007(case["token"])


@_cases(V007)
def test_v007_vector_verifies_with_shared_certificate_only(case):
    assert verify_token_007(case["token"], SHARED["appCertificate"])
    assert not verify_token_007(case["token"], WRONG_CERTIFICATE)


@_cases(V006)
def test_v006_vector_reproduced_by_agora_token_builder(case):
    token = AccessToken(SHARED["appId"], SHARED["appCertificate"], SHARED["channelName"], case["uid"])
    token.salt = V006["salt"]
    token.ts = V006["ts"]
    for privilege in case["privileges"]:
        token.addPrivilege(privilege, V006["privilegeExpireTs"])
    assert token.build() == case["token"]


@_cases(V006)
def test_v006_vector_decodes_to_published_fields(case):
    decoded = decode_token_006(case["token"])
    assert decoded["app_id"] == SHARED["appId"]
    assert (decoded["salt"], decoded["ts"]) == (V006["salt"], V006["ts"])
    assert decoded["privileges"] == dict.fromkeys(case["privileges"], V006["privilegeExpireTs"])


@_cases(V006)
def test_v006_vector_verifies_with_shared_certificate(case):
    assert verify_token_006(case["token"], SHARED["appCertificate"], SHARED["channelName"], case["uid"])


@_cases(V006)
def test_v006_vector_fails_with_wrong_certificate(case):
    assert not verify_token_006(case["token"], WRONG_CERTIFICATE, SHARED["channelName"], case["uid"])


def test_build_rtc_token_007_grants_publisher_privileges_for_channel_and_uid():
    decoded = decode_token_007(_build_rtc_token())
    assert decoded["app_id"] == SHARED["appId"]
    assert decoded["expire"] == 3600
    assert decoded["services"] == {
        1: {
            "channel_name": SHARED["channelName"],
            "uid": str(SHARED["uid"]),
            "privileges": {1: 3600, 2: 3600, 3: 3600, 4: 3600},
        }
    }


def test_build_rtc_token_007_uses_given_issue_time_and_salt():
    decoded = decode_token_007(_build_rtc_token(issued_at=ISSUED_AT, salt=42))
    assert (decoded["issue_ts"], decoded["salt"]) == (ISSUED_AT, 42)


def test_build_rtc_token_007_encodes_uid_0_as_empty_string():
    assert decode_token_007(_build_rtc_token(uid=0))["services"][1]["uid"] == ""


def test_build_rtc_token_007_signature_verifies_with_certificate():
    assert verify_token_007(_build_rtc_token(), SHARED["appCertificate"])


def test_build_rtc_token_007_signature_fails_with_other_certificate():
    assert not verify_token_007(_build_rtc_token(), WRONG_CERTIFICATE)


def test_build_rtc_token_006_verifies_for_channel_and_uid():
    token = _build_rtc_token(version="006", issued_at=ISSUED_AT)
    assert verify_token_006(token, SHARED["appCertificate"], SHARED["channelName"], SHARED["uid"])


def test_build_rtc_token_006_fails_for_other_uid():
    token = _build_rtc_token(version="006", issued_at=ISSUED_AT)
    assert not verify_token_006(token, SHARED["appCertificate"], SHARED["channelName"], 1)


def test_build_rtc_token_006_privileges_expire_at_issued_at_plus_expires_in():
    decoded = decode_token_006(_build_rtc_token(version="006", issued_at=ISSUED_AT))
    assert decoded["privileges"] == dict.fromkeys((1, 2, 3, 4), ISSUED_AT + 3600)


@pytest.mark.parametrize("version", ["007", "006"])
@pytest.mark.parametrize("uid", [0, 2**32 - 1])
def test_build_rtc_token_accepts_uid_bounds(version, uid):
    assert _build_rtc_token(version=version, uid=uid).startswith(version)


@pytest.mark.parametrize("uid", [-1, 2**32])
def test_build_rtc_token_refuses_uid_out_of_range(uid):
    with pytest.raises(ValueError, match="uid"):
        _build_rtc_token(uid=uid)


@pytest.mark.parametrize("version", ["005", "008", ""])
def test_build_rtc_token_refuses_unknown_version(version):
    with pytest.raises(ValueError, match="version"):
        _build_rtc_token(version=version)


def test_build_rtc_token_refuses_empty_certificate():
    with pytest.raises(ValueError, match="certificate"):
        _build_rtc_token(app_certificate="")


def test_build_rtc_token_refuses_empty_app_id():
    with pytest.raises(ValueError, match="app id"):
        _build_rtc_token(app_id="")


def test_decode_token_007_refuses_malformed_token():
    with pytest.raises(ValueError):
        decode_token_007("007not-base64!")
