"""The [target] TLS keys: each problem names the key and what is wrong, and
`z6 validate` refuses exactly what `z6 run` would (both load the scenario the same way)."""

from __future__ import annotations

import pytest

from z6.cli import main
from z6.errors import ScenarioError
from z6.scenario import parse_scenario

trustme = pytest.importorskip("trustme")

REST = """
[runtime]
duration_seconds = 1
vus = 1
[[requests]]
name = "r"
method = "GET"
path = "/"
"""


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    d = tmp_path_factory.mktemp("pem")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(d / "ca.pem")
    one = ca.issue_cert("z6-client@example.org")
    two = ca.issue_cert("other@example.org")
    one.cert_chain_pems[0].write_to_path(d / "client.crt")
    one.private_key_pem.write_to_path(d / "client.key")
    two.private_key_pem.write_to_path(d / "other.key")
    one.private_key_and_cert_chain_pem.write_to_path(d / "both.pem")
    (d / "not-pem.txt").write_text("hello\n")
    return d


def scenario(target: str) -> str:
    return "[target]\n" + target + "\n" + REST


def problems(text: str, base_dir) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.toml", base_dir=str(base_dir))
    return str(info.value)


def test_the_tls_keys_reach_the_target(pem):
    sc = parse_scenario(scenario('base_url = "https://h.example"\nca_file = "ca.pem"\nclient_cert = "client.crt"\n'
                                 'client_key = "client.key"\ntls_min_version = "1.3"\ntls_resume = false'),
                        source="s.toml", base_dir=str(pem))
    t = sc.target
    assert t.tls and t.ca_file == str(pem / "ca.pem") and t.client_cert == str(pem / "client.crt")
    assert t.client_key == str(pem / "client.key") and t.tls_min_version == "1.3" and not t.tls_resume
    assert not t.insecure
    # The key may sit in the certificate's file.
    both = parse_scenario(scenario('base_url = "https://h.example"\nclient_cert = "both.pem"'), source="s.toml",
                          base_dir=str(pem))
    assert both.target.client_key == str(pem / "both.pem")


@pytest.mark.parametrize("target, key, words", [
    ('ca_file = "missing.pem"', "target.ca_file", ["file must exist", "missing.pem"]),
    ('ca_file = "not-pem.txt"', "target.ca_file", ["PEM", "not-pem.txt"]),
    ('ca_file = "client.key"', "target.ca_file", ["PEM", "CERTIFICATE"]),
    ('client_cert = "client.crt"\nclient_key = "other.key"', "target.client_key", ["does not match", "client.crt"]),
    ('client_cert = "client.crt"', "target.client_cert", ["private key"]),
    ('client_key = "client.key"', "target.client_key", ["needs client_cert"]),
    ('tls_min_version = "1.1"', "target.tls_min_version", ['"1.2" or "1.3"', "1.1"]),
    ('insecure = true\nca_file = "ca.pem"', "target.ca_file", ["insecure"]),
    ('insecure = "yes"', "target.insecure", []),
])
def test_a_bad_tls_key_is_named_with_its_problem(pem, target, key, words):
    message = problems(scenario(f'base_url = "https://h.example"\n{target}'), pem)
    assert f"s.toml: {key}:" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("key", ['ca_file = "ca.pem"', "insecure = true", 'tls_min_version = "1.2"',
                                 "tls_resume = false"])
def test_tls_keys_on_a_plain_http_target_are_refused(pem, key):
    message = problems(scenario(f'base_url = "http://h.example"\n{key}'), pem)
    assert "applies to TLS targets only" in message and key.split(" ")[0] in message


def test_the_builtin_target_over_tls_takes_no_certificate_files(pem):
    sc = parse_scenario(scenario("builtin = true\ntls = true"), source="s.toml")
    assert sc.target.tls and sc.target.builtin and sc.target.scheme == "https"
    message = problems(scenario('builtin = true\ntls = true\nca_file = "ca.pem"'), pem)
    assert "target.ca_file" in message and "builtin" in message


def test_validate_refuses_exactly_what_run_refuses(pem, capsys):
    path = pem / "bad.toml"
    path.write_text(scenario('base_url = "https://127.0.0.1:9"\nca_file = "missing.pem"'))
    assert main(["validate", str(path)]) == 2
    validate_err = capsys.readouterr().err
    assert main(["run", str(path)]) == 2
    run_err = capsys.readouterr().err
    assert "target.ca_file" in validate_err and validate_err == run_err
