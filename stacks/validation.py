"""Stack configuration values checked against what AWS accepts: pure functions, one per kind.

Each function takes a value as the operator wrote it (the string `pulumi config` holds, or the
parsed JSON of an array) and returns it normalised, or raises `InvalidValue` with a message that
does not name the key: `stacks.config.load_stack_settings` prefixes the key, so each refusal is
one line, `<key>: <what is wrong> (<what is accepted>)`. User values appear in messages through
`repr`, so a value with a newline cannot split the line.

Nothing here imports Pulumi or touches the network: the region's availability zones are looked
up once by `stacks.config` and handed in. The policy pack (`stacks.policy.rules`) uses the same
address arithmetic (`parse_network`, `public_addresses`, `opens_to_internet`) to judge what a
security group or network ACL lets in, so the stack config and the pack agree on what "open to
the internet" means.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class InvalidValue(ValueError):
    """A config value AWS (or this program) would not accept; the message does not name the key."""


# ---- environments ---------------------------------------------------------------------------

# The planner's environments (planner.environments, their home; tests hold the two equal). Spelled
# out here so that the policy pack, which shares these functions, needs nothing from the planner.
ENVIRONMENTS = ("dev", "staging", "prod")
# Words in a stack name or tag value that name an environment.
ENVIRONMENT_WORDS = {
    "dev": "dev", "development": "dev",
    "staging": "staging", "stage": "staging", "stg": "staging",
    "prod": "prod", "production": "prod", "prd": "prod",
}
# A word before an environment word that negates it: `pre-prod`, `non-prod` are not prod.
_NEGATING_WORDS = ("pre", "non", "not")


def environments_named_by(name: str) -> set[str]:
    """The environments a stack name or tag value names: the whole name or any of its words
    (split at `-`, `_`, `.`, `/`, spaces), case-insensitive. `prod`, `Prod`, `eu-prod`,
    `production` name prod; `pre-prod` and `products` do not."""
    words = [w for w in re.split(r"[-_./\s]+", str(name).strip().lower()) if w]
    found = set()
    for i, word in enumerate(words):
        if word in ENVIRONMENT_WORDS and not (i > 0 and words[i - 1] in _NEGATING_WORDS):
            found.add(ENVIRONMENT_WORDS[word])
    return found


def stack_environment(stack: str, label: str | None) -> str:
    """The stack's environment. A stack whose name names an environment is that environment:
    a label (the `environment` config) that says otherwise is refused, not obeyed. A stack whose
    name names none needs the label."""
    named = environments_named_by(stack)
    if len(named) > 1:
        raise InvalidValue(f"stack name {stack!r} names several environments ({', '.join(sorted(named))}); "
                           f"name the stack after one of {', '.join(ENVIRONMENTS)}")
    label = (label or "").strip()
    if label and label not in ENVIRONMENTS:
        raise InvalidValue(f"environment {label!r} is not one of {', '.join(ENVIRONMENTS)}")
    if named:
        (environment,) = named
        if label and label != environment:
            raise InvalidValue(f"environment {label!r} contradicts the stack name {stack!r}, which names "
                               f"{environment}; a stack named after an environment is that environment "
                               f"(remove the setting)")
        return environment
    if not label:
        raise InvalidValue(f"stack name {stack!r} names no environment ({', '.join(ENVIRONMENTS)}); "
                           f"name the stack after its environment or set the environment")
    return label


# ---- scalar parsing (pulumi config holds strings) -------------------------------------------

def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def integer(raw: Any) -> int:
    """A whole number as written in the stack config ('8000', not '8000.0' or 'eight')."""
    if isinstance(raw, bool):
        raise InvalidValue(f"expected a whole number, got {_shown(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", raw):
        return int(raw)
    raise InvalidValue(f"expected a whole number, got {_shown(raw)}")


def string_list(raw: Any) -> list[str]:
    """A YAML/JSON array of strings (Pulumi hands arrays to the program as JSON)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise InvalidValue(f"expected a list (a YAML array), got {_shown(raw)}") from None
    if not isinstance(value, list):
        raise InvalidValue(f"expected a list (a YAML array), got {_shown(value)}")
    for item in value:
        if not isinstance(item, str):
            raise InvalidValue(f"expected a list of strings, got the item {_shown(item)}")
    return value


def _no_control_characters(value: str, what: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidValue(f"{what} {_shown(value)} contains a control character")


# ---- availability zones ---------------------------------------------------------------------

def zone_names(names: list[str], region: str) -> tuple[str, ...]:
    """Pinned zone names: zones of `region` (`<region><letter>`), each once."""
    names = [n.strip() for n in names]
    for name in names:
        if not re.fullmatch(re.escape(region) + r"[a-z]", name):
            raise InvalidValue(f"{_shown(name)} is not an availability zone of {region} "
                               f"(expected {region}a, {region}b, ...)")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidValue(f"{', '.join(repeated)} listed more than once; each zone once")
    return tuple(names)


def zones_count(names: tuple[str, ...], needed: int, what: str) -> None:
    """Exactly as many pinned zones as the network uses."""
    if len(names) != needed:
        raise InvalidValue(f"{what} uses {needed} zones; list exactly {needed}, got {len(names)}")


def zones_in_region(wanted: Iterable[str], available: Iterable[str], region: str) -> None:
    """Every pinned zone is one the region offers this account (available, no opt-in)."""
    available = sorted(available)
    missing = [z for z in wanted if z not in available]
    if missing:
        raise InvalidValue(f"{', '.join(missing)} not available in {region} "
                           f"(available: {', '.join(available) or 'none'})")


def zones_enough(needed: int, available: Iterable[str], region: str, what: str) -> None:
    available = sorted(available)
    if needed > len(available):
        raise InvalidValue(f"{what} needs {needed} availability zones; {region} has {len(available)} "
                           f"available ({', '.join(available) or 'none'})")


# ---- addresses ------------------------------------------------------------------------------

# Address space that cannot be reached from the internet (RFC 1918 and the carrier-grade NAT
# range of RFC 6598, which corporate VPNs and AWS use inside networks).
PRIVATE_IPV4 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                         "100.64.0.0/10"))
# IPv6 global unicast: what the internet routes.
PUBLIC_IPV6 = (ipaddress.IPv6Network("2000::/3"),)
# "Open to the internet": a set of sources covering more public addresses than one /8 of IPv4
# (16,777,216 addresses, 1/256 of the IPv4 space) or one /32 of IPv6 (a whole provider's
# allocation). Named client networks are far smaller; 0.0.0.0/0, 0.0.0.0/1 + 128.0.0.0/1 or
# nine blocks covering IPv4 are far larger.
MAX_PUBLIC_IPV4_ADDRESSES = 2 ** 24
MAX_PUBLIC_IPV6_ADDRESSES = 2 ** 96
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: IPv4-mapped (::ffff:0:0/96)
# and the NAT64 well-known prefix (64:ff9b::/96). A rule on them lets IPv4 sources in.
IPV4_EMBEDDING = (ipaddress.IPv6Network("::ffff:0:0/96"), ipaddress.IPv6Network("64:ff9b::/96"))
# Docker's default bridge on the instances (the vLLM container runs with Docker): a VPC in this
# block would be routed to the bridge instead of the VPC.
DOCKER_BRIDGE = ipaddress.IPv4Network("172.17.0.0/16")
VPC_PREFIX_RANGE = (16, 28)  # what AWS accepts for a VPC's IPv4 block
SUBNET_PREFIX = 20  # the network's private subnets (stacks.network.subnet_cidrs)
MAX_INGRESS_RULES = 60  # AWS's default quota of inbound rules per security group


def parse_network(text: Any, strict: bool = False) -> IPNetwork:
    """An IPv4 or IPv6 network from its text, however spelled (`::0/0`, `0.0.0.0/0 `)."""
    if not isinstance(text, str):
        raise InvalidValue(f"expected a CIDR block such as 10.0.0.0/16, got {_shown(text)}")
    try:
        return ipaddress.ip_network(text.strip(), strict=strict)
    except ValueError as exc:
        raise InvalidValue(f"{_shown(text)} is not a CIDR block ({exc})") from None


def as_ipv4(network: IPNetwork) -> IPNetwork:
    """IPv4 embedded in IPv6 (::ffff:a.b.c.d/n, 64:ff9b::a.b.c.d/n) as the IPv4 block it admits."""
    if isinstance(network, ipaddress.IPv6Network):
        for embedding in IPV4_EMBEDDING:
            if network.subnet_of(embedding):
                offset = int(network.network_address) - int(embedding.network_address)
                return ipaddress.IPv4Network((offset, network.prefixlen - 96))
    return network


def _overlap(network: IPNetwork, other: IPNetwork) -> int:
    if network.version != other.version or not network.overlaps(other):
        return 0
    return min(network.num_addresses, other.num_addresses)


def public_addresses(networks: Iterable[IPNetwork]) -> tuple[int, int]:
    """(public IPv4 addresses, public IPv6 addresses) the union of `networks` covers.

    Blocks are unioned first, so overlapping or adjacent spellings are counted once; IPv4 in
    IPv6 clothing counts as IPv4; a block that covers an IPv4-embedding prefix (::/0) also
    covers all of IPv4."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for network in networks:
        network = as_ipv4(network)
        if isinstance(network, ipaddress.IPv4Network):
            v4.append(network)
            continue
        v6.append(network)
        for embedding in IPV4_EMBEDDING:
            if embedding.subnet_of(network):
                v4.append(ipaddress.IPv4Network("0.0.0.0/0"))
    public_v4 = 0
    for block in ipaddress.collapse_addresses(v4):
        public_v4 += block.num_addresses - sum(_overlap(block, p) for p in PRIVATE_IPV4)
    public_v6 = 0
    for block in ipaddress.collapse_addresses(v6):
        public_v6 += sum(_overlap(block, p) for p in PUBLIC_IPV6)
    return public_v4, public_v6


def opens_to_internet(networks: Iterable[IPNetwork]) -> str | None:
    """Why these sources amount to the internet, or None (see MAX_PUBLIC_IPV4_ADDRESSES)."""
    networks = list(networks)
    v4, v6 = public_addresses(networks)
    shown = ", ".join(str(n) for n in networks[:6]) + (", ..." if len(networks) > 6 else "")
    if v4 > MAX_PUBLIC_IPV4_ADDRESSES:
        return (f"{shown} cover {v4:,} public IPv4 addresses ({v4 / 2 ** 32:.0%} of IPv4); "
                f"at most {MAX_PUBLIC_IPV4_ADDRESSES:,} (one /8) count as named networks")
    if v6 > MAX_PUBLIC_IPV6_ADDRESSES:
        return f"{shown} cover more public IPv6 space than one /32"
    return None


def vpc_cidr(value: Any) -> str:
    """The VPC's IPv4 block: /16 to /28 (AWS's limits), private (RFC 1918), clear of Docker's bridge."""
    network = parse_network(value, strict=True)
    if network.version != 4:
        raise InvalidValue(f"{network} is IPv6; the VPC's primary block is IPv4 (e.g. 10.42.0.0/16)")
    low, high = VPC_PREFIX_RANGE
    if not low <= network.prefixlen <= high:
        raise InvalidValue(f"{network} is a /{network.prefixlen}; AWS accepts a VPC block from /{low} to /{high}")
    if not any(network.subnet_of(p) for p in PRIVATE_IPV4[:3]):
        raise InvalidValue(f"{network} is not a private range; use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 "
                           f"(a public range would hide those internet addresses from the fleet)")
    if network.overlaps(DOCKER_BRIDGE):
        raise InvalidValue(f"{network} overlaps {DOCKER_BRIDGE}, Docker's bridge on the instances; "
                           f"choose another block (e.g. 10.42.0.0/16)")
    return str(network)


def vpc_room(cidr: str, private_subnets: int) -> None:
    """The block holds the network's layout: one /20 per private subnet and one /20 for the
    public NAT subnets (stacks.network.subnet_cidrs)."""
    network = ipaddress.IPv4Network(cidr)
    blocks = 2 ** (SUBNET_PREFIX - network.prefixlen) if network.prefixlen <= SUBNET_PREFIX else 0
    needed = private_subnets + 1
    if blocks < needed:
        largest = SUBNET_PREFIX - math.ceil(math.log2(needed))
        raise InvalidValue(f"{network} holds {blocks} /{SUBNET_PREFIX} block(s); the network needs {needed} "
                           f"({private_subnets} private subnets and one for the NAT subnets): use a /{largest} "
                           f"or larger")


def client_cidrs(values: list[str]) -> tuple[str, ...]:
    """Client networks of the internal endpoint: IPv4 blocks (they become `cidr_ipv4` rules), each
    once, together not the internet (see MAX_PUBLIC_IPV4_ADDRESSES)."""
    networks = []
    for value in values:
        network = parse_network(value, strict=True)
        if network.version != 4:
            raise InvalidValue(f"{network} is IPv6; the endpoint's rules take IPv4 blocks only")
        networks.append(network)
    repeated = sorted({str(n) for n in networks if networks.count(n) > 1})
    if repeated:
        raise InvalidValue(f"{', '.join(repeated)} listed more than once (AWS refuses duplicate rules)")
    if len(networks) > MAX_INGRESS_RULES:
        raise InvalidValue(f"{len(networks)} blocks; a security group takes {MAX_INGRESS_RULES} inbound rules "
                           f"(AWS's default quota): summarise them into fewer blocks")
    reason = opens_to_internet(networks)
    if reason:
        raise InvalidValue(f"opens the endpoint to the internet: {reason}; name your client networks")
    return tuple(str(n) for n in networks)


# ---- S3, email, ports, durations, paths -----------------------------------------------------

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name(name: str) -> str:
    """An S3 general purpose bucket name by AWS's naming rules."""
    if not 3 <= len(name) <= 63:
        raise InvalidValue(f"bucket name {_shown(name)} must be 3 to 63 characters long")
    if not _BUCKET.fullmatch(name):
        raise InvalidValue(f"bucket name {_shown(name)} may hold only lowercase letters, digits, '.' and '-', "
                           f"and must begin and end with a letter or digit")
    if ".." in name or ".-" in name or "-." in name:
        raise InvalidValue(f"bucket name {_shown(name)} may not have '..', '.-' or '-.'")
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name):
        raise InvalidValue(f"bucket name {_shown(name)} may not be formatted as an IP address")
    for prefix in _BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            raise InvalidValue(f"bucket name {_shown(name)} may not begin with {prefix!r} (reserved by AWS)")
    for suffix in _BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            raise InvalidValue(f"bucket name {_shown(name)} may not end with {suffix!r} (reserved by AWS)")
    return name


# IAM treats these in a policy's Resource as wildcards or as a policy variable: the weights
# prefix is written into the fleet role's policy, so they would widen what the fleet may read.
IAM_PATTERN_CHARACTERS = ("*", "?", "${")
MAX_S3_KEY_BYTES = 1024


def weights_uri(uri: Any) -> tuple[str, str]:
    """s3://BUCKET/PREFIX -> (bucket, prefix): a valid bucket name, a non-empty prefix with no IAM
    wildcard ('*', '?') or policy variable ('${...}')."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise InvalidValue(f"expected s3://BUCKET/PREFIX, got {_shown(uri)}")
    _no_control_characters(uri, "URI")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    prefix = prefix.strip("/")
    if not prefix:
        raise InvalidValue(f"expected s3://BUCKET/PREFIX with a prefix (the fleet may read that prefix only), "
                           f"got {_shown(uri)}")
    for pattern in IAM_PATTERN_CHARACTERS:
        if pattern in uri:
            raise InvalidValue(f"{_shown(uri)} contains {pattern!r}, which IAM reads as a wildcard or policy "
                               f"variable and would widen what the fleet may read; name the prefix literally")
    if len(prefix.encode()) > MAX_S3_KEY_BYTES:
        raise InvalidValue(f"prefix is {len(prefix.encode())} bytes; S3 keys are at most {MAX_S3_KEY_BYTES}")
    return bucket_name(bucket), prefix


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def email(value: str) -> str:
    """One address SNS can subscribe: local@domain.tld, nothing else around it."""
    if len(value) > 254 or not _EMAIL.fullmatch(value) or ".." in value.split("@")[0] \
            or value.startswith(".") or value.split("@")[0].endswith("."):
        raise InvalidValue(f"{_shown(value)} is not an email address (expected name@example.com)")
    return value


def emails(values: list[str]) -> tuple[str, ...]:
    out = tuple(email(v) for v in values)
    repeated = sorted({v for v in out if [x.lower() for x in out].count(v.lower()) > 1})
    if repeated:
        raise InvalidValue(f"{', '.join(repeated)} listed more than once")
    return out


def port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise InvalidValue(f"a port is 1-65535, got {value}")
    return value


def seconds(value: int, low: int = 0, high: int | None = None, why: str = "") -> int:
    if value < low or (high is not None and value > high):
        bound = f"{low}-{high}" if high is not None else f"at least {low}"
        raise InvalidValue(f"must be {bound} seconds{why}, got {value}")
    return value


_DURATION_UNITS_NS = {"ns": 1, "us": 10 ** 3, "µs": 10 ** 3, "μs": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9,
                      "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}
_DURATION = re.compile(r"([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
MAX_DURATION_NS = 2 ** 63 - 1  # Go's time.Duration


def go_duration_ns(text: str) -> int:
    """Nanoseconds of a Go duration ('45m', '1h30m', '90s'), the form Terraform's
    wait_for_capacity_timeout takes (time.ParseDuration)."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise InvalidValue(f"{_shown(text)} is not a duration; write it as Go does, e.g. 45m, 1h30m or 600s")
    sign, body = match.groups()
    total = Decimal(0)
    if body != "0":
        try:
            for number, unit in _DURATION_PART.findall(body):
                total += Decimal(number) * _DURATION_UNITS_NS[unit]
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            raise InvalidValue(f"{_shown(text)} is not a duration") from None
    if total > MAX_DURATION_NS:
        raise InvalidValue(f"{_shown(text)} is longer than a Go duration can hold (about 292 years)")
    return -int(total) if sign == "-" else int(total)


def positive_duration(text: str) -> str:
    if go_duration_ns(text) <= 0:
        raise InvalidValue(f"{_shown(text)} must be a positive duration (0 would stop `pulumi up` from "
                           f"waiting for the GPUs to come up), e.g. 45m")
    return text


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def month(value: str) -> str:
    if not _MONTH.fullmatch(value):
        raise InvalidValue(f"expected a month as YYYY-MM (e.g. 2027-01), got {_shown(value)}")
    return value


def plan_path(value: str, repo_root: Path) -> Path:
    """The plan file, relative to the repository root and inside it (no absolute path, no
    `..` or symbolic link leading out)."""
    _no_control_characters(value, "path")
    path = Path(value)
    if path.is_absolute() or value.startswith("~"):
        raise InvalidValue(f"{_shown(value)} is not relative; give the plan's path from the repository root "
                           f"(e.g. examples/eu-chat-assistant.yaml)")
    root = repo_root.resolve()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise InvalidValue(f"{_shown(value)} resolves outside the repository ({resolved}); keep the plan in "
                           f"the repository, where its history is reviewed")
    if not resolved.is_file():
        raise InvalidValue(f"{_shown(value)}: no such file in the repository")
    return resolved


# ---- the server and its image ---------------------------------------------------------------

# distribution/reference: [registry[:port]/]path[:tag][@digest]; the first component is a
# registry only if it has a '.' or a port or is localhost (as Docker reads it).
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_IMAGE = re.compile(
    rf"(?:(?:localhost|{_HOST_LABEL}(?:\.{_HOST_LABEL})+|{_HOST_LABEL}(?=:))(?::\d{{1,5}})?/)?"
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?")


def image_reference(value: str) -> str:
    if len(value) > 255 or not _IMAGE.fullmatch(value):
        raise InvalidValue(f"{_shown(value)} is not a container image reference "
                           f"(e.g. vllm/vllm-openai:v0.10.1.1 or registry.example.com/vllm@sha256:...)")
    return value


_HEALTH_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")


def health_path(value: str) -> str:
    """A load balancer health check path: starts with '/', at most 1024 characters, URL characters."""
    if len(value) > 1024 or not _HEALTH_PATH.fullmatch(value):
        raise InvalidValue(f"{_shown(value)} is not a health check path (a URL path such as /health, "
                           f"at most 1024 characters)")
    return value


AMI_OWNER_ALIASES = ("amazon", "self", "aws-marketplace", "aws-backup-vault")


def ami_owner(value: str) -> str:
    """Whose AMIs the deploy-time lookup trusts: an alias or a 12-digit account id."""
    if value not in AMI_OWNER_ALIASES and not re.fullmatch(r"\d{12}", value):
        raise InvalidValue(f"{_shown(value)} is not an AMI owner ({', '.join(AMI_OWNER_ALIASES)} or a 12-digit "
                           f"account id)")
    return value


def ami_name_filter(value: str) -> str:
    _no_control_characters(value, "filter")
    if not value.strip() or len(value) > 128:
        raise InvalidValue(f"{_shown(value)} is not an AMI name filter (1-128 characters, '*' as wildcard)")
    return value
