"""What the PyKMIP driver scripts share: KMIP versions by name, and enumeration names in kmipd's
CamelCase spelling (DISCOVER_VERSIONS -> DiscoverVersions)."""
from kmip.core import enums

VERSIONS = {
    '1.0': enums.KMIPVersion.KMIP_1_0,
    '1.1': enums.KMIPVersion.KMIP_1_1,
    '1.2': enums.KMIPVersion.KMIP_1_2,
    '1.3': enums.KMIPVersion.KMIP_1_3,
    '1.4': enums.KMIPVersion.KMIP_1_4,
    '2.0': enums.KMIPVersion.KMIP_2_0,
}


def camel(name):
    return ''.join(word.capitalize() for word in name.split('_'))


def enum_name(value):
    """PyKMIP hands back enum members, or primitives whose .value is one."""
    if value is None:
        return None
    member = value if hasattr(value, 'name') else getattr(value, 'value', value)
    return camel(member.name) if hasattr(member, 'name') else str(member)
