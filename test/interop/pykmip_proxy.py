"""PyKMIP's high-level client (kmip.pie.client.ProxyKmipClient) runs a key-lifecycle scenario
against a KMIP server.

Usage: pykmip_proxy.py HOST PORT CA CERT KEY VERSION
  VERSION  KMIP version the client speaks: 1.0 .. 1.4 or 2.0

Prints one JSON object {"version", "steps": {NAME: STEP}} where each STEP is
  {"ok": true, ...what was checked}   or
  {"ok": false, "error": {"type", "status", "reason", "message"}}
Reasons are CamelCase (ITEM_NOT_FOUND -> ItemNotFound), as kmipd's registry spells them. A step
never aborts the scenario: a failure is recorded and the next step runs (steps that need an
earlier step's object say so in "skipped"). Run by test/interop/pykmip-proxy.test.ts with Debian's
python3-pykmip (0.10). No key material is printed; only comparisons and lengths.
"""
import datetime
import hashlib
import hmac
import json
import logging
import os
import sys
import warnings

from kmip.core import enums
from kmip.pie import exceptions, objects
from kmip.pie.client import ProxyKmipClient

from pykmip_common import VERSIONS, enum_name  # next to this script




class Scenario(object):
    def __init__(self, client):
        self.client = client
        self.steps = {}
        self.uids = {}

    def step(self, name, fn, needs=()):
        missing = [n for n in needs if n not in self.uids]
        if missing:
            self.steps[name] = {'ok': False, 'skipped': 'needs ' + ', '.join(missing)}
            return
        try:
            out = fn() or {}
            out['ok'] = out.get('ok', True)
            self.steps[name] = out
        except exceptions.KmipOperationFailure as e:
            self.steps[name] = {'ok': False, 'error': {
                'type': 'KmipOperationFailure',
                'status': enum_name(e.status),
                'reason': enum_name(e.reason),
                'message': str(e.message),
            }}
        except Exception as e:  # PyKMIP parse errors, socket errors, TypeErrors…
            self.steps[name] = {'ok': False, 'error': {'type': type(e).__name__, 'message': str(e)[:300]}}


def self_signed_certificate():
    """A DER X.509 certificate and its RSA key, made with the cryptography module if present."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u'pykmip interop')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return {
        'cert_der': cert.public_bytes(serialization.Encoding.DER),
        'public_der': key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
        'private_der': key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()),
    }


def run(client, version):
    s = Scenario(client)
    c = client
    tag = 'pykmip-proxy-{0}-{1}'.format(version, os.getpid())
    E = enums

    # --- Create / Create Key Pair -------------------------------------------------------------
    def create():
        uid = c.create(E.CryptographicAlgorithm.AES, 256, name=tag + '-aes', cryptographic_usage_mask=[
            E.CryptographicUsageMask.ENCRYPT, E.CryptographicUsageMask.DECRYPT])
        s.uids['aes'] = uid
        return {'uid': uid}
    s.step('create', create)

    def create_key_pair():
        pub, priv = c.create_key_pair(
            E.CryptographicAlgorithm.RSA, 2048,
            public_name=tag + '-rsa-pub', public_usage_mask=[E.CryptographicUsageMask.VERIFY],
            private_name=tag + '-rsa-priv', private_usage_mask=[E.CryptographicUsageMask.SIGN])
        s.uids['rsa_pub'] = pub
        s.uids['rsa_priv'] = priv
        return {'public': pub, 'private': priv}
    s.step('create_key_pair', create_key_pair)

    # --- Register each object type ------------------------------------------------------------
    sym_value = os.urandom(32)
    hmac_value = os.urandom(32)
    secret_value = b'correct horse battery staple'
    opaque_value = b'\x00\x01opaque blob\xff'

    def register(key, obj):
        def fn():
            uid = c.register(obj)
            s.uids[key] = uid
            return {'uid': uid}
        return fn

    s.step('register_symmetric_key', register('sym', objects.SymmetricKey(
        E.CryptographicAlgorithm.AES, 256, sym_value,
        masks=[E.CryptographicUsageMask.ENCRYPT, E.CryptographicUsageMask.DECRYPT], name=tag + '-sym')))
    s.step('register_hmac_key', register('hmac', objects.SymmetricKey(
        E.CryptographicAlgorithm.HMAC_SHA256, 256, hmac_value,
        masks=[E.CryptographicUsageMask.MAC_GENERATE], name=tag + '-hmac')))
    s.step('register_secret_data', register('secret', objects.SecretData(
        secret_value, E.SecretDataType.PASSWORD,
        masks=[E.CryptographicUsageMask.DERIVE_KEY], name=tag + '-secret')))
    s.step('register_opaque_object', register('opaque', objects.OpaqueObject(
        opaque_value, E.OpaqueDataType.NONE, name=tag + '-opaque')))

    material = self_signed_certificate()
    if material is None:
        for name in ('register_certificate', 'register_public_key', 'register_private_key'):
            s.steps[name] = {'ok': False, 'skipped': 'the cryptography module is not installed'}
    else:
        s.step('register_certificate', register('cert', objects.X509Certificate(
            material['cert_der'], masks=[E.CryptographicUsageMask.VERIFY], name=tag + '-cert')))
        s.step('register_public_key', register('pub', objects.PublicKey(
            E.CryptographicAlgorithm.RSA, 2048, material['public_der'], E.KeyFormatType.PKCS_1,
            masks=[E.CryptographicUsageMask.VERIFY], name=tag + '-pub')))
        s.step('register_private_key', register('priv', objects.PrivateKey(
            E.CryptographicAlgorithm.RSA, 2048, material['private_der'], E.KeyFormatType.PKCS_1,
            masks=[E.CryptographicUsageMask.SIGN], name=tag + '-priv')))

    # --- Get (values compared, never printed) -------------------------------------------------
    def get(key, expected=None):
        def fn():
            obj = c.get(s.uids[key])
            out = {'objectType': enum_name(obj.object_type)}
            value = getattr(obj, 'value', None)
            if expected is not None:
                out['valueMatches'] = value == expected
            if hasattr(obj, 'cryptographic_length'):
                out['cryptographicLength'] = obj.cryptographic_length
            if hasattr(obj, 'cryptographic_algorithm') and obj.cryptographic_algorithm is not None:
                out['cryptographicAlgorithm'] = enum_name(obj.cryptographic_algorithm)
            return out
        return fn

    s.step('get_created', get('aes'), needs=['aes'])
    s.step('get_symmetric_key', get('sym', sym_value), needs=['sym'])
    s.step('get_secret_data', get('secret', secret_value), needs=['secret'])
    s.step('get_opaque_object', get('opaque', opaque_value), needs=['opaque'])
    if material is not None:
        s.step('get_certificate', get('cert', material['cert_der']), needs=['cert'])
        s.step('get_public_key', get('pub', material['public_der']), needs=['pub'])
        s.step('get_private_key', get('priv', material['private_der']), needs=['priv'])
    s.step('get_created_public_key', get('rsa_pub'), needs=['rsa_pub'])

    # --- Attributes ----------------------------------------------------------------------------
    def get_attributes():
        uid, attrs = c.get_attributes(s.uids['aes'], ['Cryptographic Algorithm', 'Cryptographic Length', 'State'])
        got = {}
        for a in attrs:
            name = a.attribute_name.value
            value = a.attribute_value
            got[name] = enum_name(value.value) if hasattr(getattr(value, 'value', None), 'name') else getattr(value, 'value', str(value))
        return {'uid': uid, 'attributes': got}
    s.step('get_attributes', get_attributes, needs=['aes'])

    def get_attribute_list():
        return {'names': list(c.get_attribute_list(s.uids['aes']))}
    s.step('get_attribute_list', get_attribute_list, needs=['aes'])

    def locate():
        from kmip.core.factories import attributes as attr_factory
        name_attr = attr_factory.AttributeFactory().create_attribute(E.AttributeType.NAME, tag + '-aes')
        found = c.locate(attributes=[name_attr])
        return {'uids': list(found), 'foundCreated': s.uids.get('aes') in found}
    s.step('locate_by_name', locate, needs=['aes'])

    # --- Activate, then cryptographic operations ------------------------------------------------
    for key in ('aes', 'sym', 'hmac', 'rsa_pub', 'rsa_priv', 'secret'):
        s.step('activate_' + key, lambda key=key: c.activate(s.uids[key]) or {}, needs=[key])

    plaintext = b'PyKMIP interop: encrypt me, 47 bytes long......'
    iv = bytes(range(16))
    cbc = {'cryptographic_algorithm': E.CryptographicAlgorithm.AES,
           'block_cipher_mode': E.BlockCipherMode.CBC,
           'padding_method': E.PaddingMethod.PKCS5}

    def encrypt_decrypt():
        ciphertext, returned_iv = c.encrypt(plaintext, uid=s.uids['sym'], cryptographic_parameters=cbc, iv_counter_nonce=iv)
        out = {'ciphertextLength': len(ciphertext), 'serverGeneratedIv': returned_iv is not None}
        # Independent check with the registered key, when the cryptography module is there.
        try:
            from cryptography.hazmat.primitives import padding
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
            padder = padding.PKCS7(128).padder()
            enc = Cipher(algorithms.AES(sym_value), modes.CBC(iv)).encryptor()
            out['ciphertextMatchesLocal'] = ciphertext == enc.update(padder.update(plaintext) + padder.finalize()) + enc.finalize()
        except ImportError:
            pass
        decrypted = c.decrypt(ciphertext, uid=s.uids['sym'], cryptographic_parameters=cbc, iv_counter_nonce=iv)
        out['roundTrip'] = decrypted == plaintext
        return out
    s.step('encrypt_decrypt', encrypt_decrypt, needs=['sym'])

    def sign_verify():
        params = {'cryptographic_algorithm': E.CryptographicAlgorithm.RSA,
                  'hashing_algorithm': E.HashingAlgorithm.SHA_256,
                  'padding_method': E.PaddingMethod.PKCS1v15}
        message = b'PyKMIP interop: sign me'
        signature = c.sign(message, uid=s.uids['rsa_priv'], cryptographic_parameters=params)
        good = c.signature_verify(message, signature, uid=s.uids['rsa_pub'], cryptographic_parameters=params)
        bad = c.signature_verify(message + b'!', signature, uid=s.uids['rsa_pub'], cryptographic_parameters=params)
        return {'signatureLength': len(signature), 'valid': enum_name(good), 'tampered': enum_name(bad)}
    s.step('sign_verify', sign_verify, needs=['rsa_priv', 'rsa_pub'])

    def mac():
        data = b'PyKMIP interop: MAC me'
        uid, mac_data = c.mac(data, uid=s.uids['hmac'], algorithm=E.CryptographicAlgorithm.HMAC_SHA256)
        return {'uid': uid, 'matchesPython': mac_data == hmac.new(hmac_value, data, hashlib.sha256).digest()}
    s.step('mac', mac, needs=['hmac'])

    def derive_key():
        salt = b'pykmip-interop-salt'
        uid = c.derive_key(
            E.ObjectType.SYMMETRIC_KEY, [s.uids['secret']], E.DerivationMethod.PBKDF2,
            {'cryptographic_parameters': {'hashing_algorithm': E.HashingAlgorithm.SHA_256},
             'salt': salt, 'iteration_count': 1000},
            cryptographic_algorithm=E.CryptographicAlgorithm.AES, cryptographic_length=256)
        s.uids['derived'] = uid
        obj = c.get(uid)
        expected = hashlib.pbkdf2_hmac('sha256', secret_value, salt, 1000, 32)
        return {'uid': uid, 'matchesPython': obj.value == expected, 'cryptographicLength': obj.cryptographic_length}
    s.step('derive_key', derive_key, needs=['secret'])

    # --- Revoke, Destroy ------------------------------------------------------------------------
    def revoke():
        c.revoke(E.RevocationReasonCode.CESSATION_OF_OPERATION, s.uids['aes'], revocation_message='interop test')
        _, attrs = c.get_attributes(s.uids['aes'], ['State'])
        return {'state': [enum_name(a.attribute_value.value) for a in attrs]}
    s.step('revoke', revoke, needs=['aes'])

    def destroy(key):
        def fn():
            c.destroy(s.uids[key])
            return {}
        return fn
    s.step('destroy_revoked', destroy('aes'), needs=['aes'])
    s.step('destroy_opaque_object', destroy('opaque'), needs=['opaque'])

    # --- Error paths --------------------------------------------------------------------------
    s.step('error_get_missing', lambda: c.get('no-such-object-' + tag) and {}, needs=[])
    s.step('error_get_destroyed', lambda: c.get(s.uids['aes']) and {}, needs=['aes'])
    s.step('error_destroy_destroyed', destroy('aes'), needs=['aes'])
    s.step('error_destroy_active', destroy('sym'), needs=['sym'])

    def state_after_refused_destroy():
        _, attrs = c.get_attributes(s.uids['sym'], ['State'])
        return {'state': [enum_name(a.attribute_value.value) for a in attrs]}
    s.step('state_after_refused_destroy', state_after_refused_destroy, needs=['sym'])
    s.step('error_encrypt_with_opaque_object', lambda: c.encrypt(
        plaintext, uid=s.uids['opaque'], cryptographic_parameters=cbc, iv_counter_nonce=iv) and {}, needs=['opaque'])
    s.step('error_activate_missing', lambda: c.activate('no-such-object-' + tag) or {}, needs=[])
    return s


def main(argv):
    host, port, ca, cert, key, version = argv[:6]
    warnings.simplefilter('ignore', DeprecationWarning)
    logging.disable(logging.CRITICAL)
    client = ProxyKmipClient(
        hostname=host, port=int(port), cert=cert, key=key, ca=ca,
        ssl_version='PROTOCOL_TLS', config_file=None, kmip_version=VERSIONS[version])
    # cert_reqs is not a ProxyKmipClient argument; KMIPProxy defaults it to CERT_REQUIRED.
    client.open()
    try:
        s = run(client, version)
    finally:
        client.close()
    json.dump({'version': version, 'steps': s.steps}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main(sys.argv[1:])
