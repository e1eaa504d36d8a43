"""PyKMIP's low-level client (KMIPProxy) runs Discover Versions and Query against a KMIP server.

Usage: pykmip_client.py HOST PORT CA CERT KEY VERSION [SSL_VERSION]
  VERSION      KMIP version: 1.0 .. 1.4 or 2.0
  SSL_VERSION  an ssl.PROTOCOL_* name; default PROTOCOL_TLS (the highest both sides have),
               PROTOCOL_TLSv1_2 for TLS 1.2 only, as PyKMIP's TLS1.2 suite and many tools use

Prints one JSON object: what PyKMIP parsed from each response, enumeration names in CamelCase
(as kmipd's registry spells them: DISCOVER_VERSIONS -> DiscoverVersions). Run by
test/interop/pykmip.test.ts with Debian's python3-pykmip (0.10).
"""
import json
import logging
import sys
import warnings

from kmip.core import enums
from kmip.services.kmip_client import KMIPProxy

from pykmip_common import VERSIONS, enum_name  # next to this script




def status(result):
    out = {'status': enum_name(result.result_status)}
    if result.result_reason is not None:
        out['reason'] = enum_name(result.result_reason)
    if result.result_message is not None:
        out['message'] = str(getattr(result.result_message, 'value', result.result_message))
    return out


def version_string(v):
    return '{0}.{1}'.format(v.major, v.minor)


def main(argv):
    host, port, ca, cert, key, version = argv[:6]
    ssl_version = argv[6] if len(argv) > 6 else 'PROTOCOL_TLS'
    # ssl.wrap_socket and PROTOCOL_TLS are deprecated in Python 3.11 but still what PyKMIP 0.10 calls.
    warnings.simplefilter('ignore', DeprecationWarning)
    logging.disable(logging.CRITICAL)
    proxy = KMIPProxy(
        host=host,
        port=int(port),
        keyfile=key,
        certfile=cert,
        ca_certs=ca,
        cert_reqs='CERT_REQUIRED',
        # PROTOCOL_TLS_CLIENT would need a server_hostname that wrap_socket cannot pass.
        ssl_version=ssl_version,
        timeout=10,
        config_file=None,
        kmip_version=VERSIONS[version],
    )
    proxy.open()
    try:
        result = {'version': version, 'tls': proxy.socket.version(), 'cipher': proxy.socket.cipher()[0]}
        # Discover Versions exists from KMIP 1.1 on.
        if version != '1.0':
            dv = proxy.discover_versions()
            result['discover'] = status(dv)
            result['discover']['versions'] = [version_string(v) for v in (dv.protocol_versions or [])]
        q = proxy.query(query_functions=[
            enums.QueryFunction.QUERY_OPERATIONS,
            enums.QueryFunction.QUERY_OBJECTS,
            enums.QueryFunction.QUERY_SERVER_INFORMATION,
        ])
        result['query'] = status(q)
        result['query']['operations'] = [enum_name(op) for op in (q.operations or [])]
        result['query']['objectTypes'] = [enum_name(t) for t in (q.object_types or [])]
        vendor = q.vendor_identification
        result['query']['vendorIdentification'] = None if vendor is None else str(getattr(vendor, 'value', vendor))
        result['query']['serverInformation'] = None if q.server_information is None else str(q.server_information)
    finally:
        proxy.close()
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    if len(sys.argv) not in (7, 8):
        sys.stderr.write(__doc__)
        sys.exit(2)
    main(sys.argv[1:])
