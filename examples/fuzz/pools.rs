//! Values the generators draw from: ordinary ones, borderline ones that some rule may
//! accept and another refuse, and tricky ones that YAML readers disagree on.

/// DNS-1123 labels (names, namespaces, environments).
pub const NAMES: &[&str] = &[
    "checkout",
    "payments",
    "m",
    "reviews",
    "a-b",
    "web2",
    "orders-api",
    "x",
    "shop",
    "prod",
    "staging",
    "dev",
    "eu1",
];

/// Names that look like labels to some readers: numbers, YAML 1.1 words, limits.
pub const BORDER_NAMES: &[&str] = &[
    "a",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "null",
    "012",
    "1e3",
    "0x10",
    "nan",
    "inf",
    "1-2",
    "abc-",
    "-abc",
    "A",
    "a.b",
    "a_b",
    "café",
    "1abc",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

/// Hosts every rule accepts.
pub const HOSTS: &[&str] = &[
    "a.example.com",
    "b.example.com",
    "checkout-se.example.com",
    "checkout-gcp.example.com",
    "svc.ns.svc.cluster.local",
    "api.example.org",
    "reviews",
    "x-y.example.net",
];

/// Hosts that one checker may accept and another refuse.
pub const BORDER_HOSTS: &[&str] = &[
    "1.2.3.4",
    "1.22",
    "10.0.0.1",
    "*.example.com",
    "*",
    "a.example.com.",
    "xn--bcher-kva.example",
    "a--b.example.com",
    "123.example.com",
    "example.123",
    "localhost",
    "a.b.c.d.e.f.g.h",
    "a_b.example.com",
    "A.Example.COM",
    "example.com:80",
    "::1",
    "[::1]",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
    "-a.example.com",
    "a..example.com",
    "ünicode.example",
    "1e400",
    "0x1F",
    "012",
];

/// Gateways (`mesh`, `name`, `namespace/name`).
pub const GATEWAYS: &[&str] = &["mesh", "istio-system/edge", "edge", "shop/public-gw"];

/// Gateways some rule may read otherwise.
pub const BORDER_GATEWAYS: &[&str] = &[
    "istio-system/edge.gw",
    "edge.gw",
    "./edge",
    "a/b/c",
    "*/edge",
    "MESH",
    "istio-system/",
    "/edge",
    "ns/Edge",
    "istio-system/edge-",
    "istio-system/-edge",
];

/// Stage names.
pub const STAGE_NAMES: &[&str] = &[
    "canary",
    "half",
    "full",
    "first-step",
    "shadow",
    "step-1",
    "two",
];

/// Stage names that are not strings to a YAML reader, or are limits.
pub const BORDER_STAGE_NAMES: &[&str] = &[
    "2",
    "10",
    "weight-10",
    "weight-100",
    "mirror-5",
    "yes",
    "on",
    "off",
    "null",
    "~",
    "012",
    "1:20",
    "true",
    "1e3",
    ".inf",
    "2001-12-14",
    "first",
    "last",
    "a.b",
    "A",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// Scalars YAML readers disagree on, or that carry characters writers must escape.
pub const TRICKY: &[&str] = &[
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "~",
    "null",
    "NULL",
    "012",
    "0o12",
    "0x1F",
    "0b101",
    "1_000",
    "1:20",
    "190:20:30",
    "1e400",
    "-1e400",
    "1e3",
    ".inf",
    "-.Inf",
    ".nan",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "<<",
    "=",
    "1.",
    ".5",
    "+12",
    "1.2.3",
    "",
    " ",
    "a\u{2028}b",
    "a\u{85}b",
    "a\u{2029}",
    "tab\there",
    "line\nbreak",
    "cr\rhere",
    "quote\"d",
    "it's",
    "back\\slash",
    "# not a comment",
    "a: b",
    "- item",
    "[x]",
    "{x: y}",
    "&anchor",
    "*alias",
    "!tag",
    "%YAML",
    "@at",
    "`tick",
    "|",
    ">",
    "---",
    "...",
    "é",
    "日本",
    "\u{feff}bom",
    "nul\u{0}byte",
    "\u{7f}del",
    "\u{1b}[31m",
    "trailing ",
    " leading",
];

/// Weights for a base destination: ordinary, zero, and beyond what Istio (32-bit) or
/// 64-bit arithmetic holds.
pub const BASE_WEIGHTS: &[i128] = &[
    0,
    1,
    7,
    10,
    33,
    50,
    80,
    99,
    100,
    1000,
    2_147_483_647,
    2_147_483_648,
    4_294_967_296,
    184_467_440_737_095_516,
    4_611_686_018_427_387_904,
    4_611_686_018_427_387_905,
    9_223_372_036_854_775_807,
    18_446_744_073_709_551_615,
    18_446_744_073_709_551_616,
    -1,
];

/// Mirror percentages as written.
pub const MIRRORS: &[&str] = &["5", "10", "12.5", "50", "100", "0.0001", "99.9999"];

/// Mirror percentages some rule may refuse.
pub const BORDER_MIRRORS: &[&str] = &[
    "0", "101", "0.00001", "1e-4", "1e2", ".5", "100.0", "-5", "\"50\"", ".inf", ".nan", "1_0",
];

/// `istioVersion` values.
pub const ISTIO_VERSIONS: &[&str] = &["\"1.22\"", "\"1.18\"", "\"1.19\"", "'1.30'"];

/// `istioVersion` values a rule may refuse.
pub const BORDER_ISTIO_VERSIONS: &[&str] = &[
    "1.22",
    "\"1.2\"",
    "\"2.0\"",
    "\"1.99999999999\"",
    "\"1\"",
    "1.19",
    "\"01.22\"",
    "\"1.22.3\"",
];

/// `apiVersion` values.
pub const API_VERSIONS: &[&str] = &[
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

/// `apiVersion` values a rule may refuse.
pub const BORDER_API_VERSIONS: &[&str] =
    &["networking.istio.io/v2", "v1", "networking.istio.io/V1"];

/// `output` values.
pub const OUTPUTS: &[&str] = &[
    "out",
    "deploy/traffic",
    "out dir",
    "../out",
    "/abs",
    ".",
    "a/../b",
];

/// Durations for `hold`.
pub const HOLDS: &[&str] = &["90s", "30m", "24h", "2d", "1h30m"];

/// Durations a rule may refuse.
pub const BORDER_HOLDS: &[&str] = &["0s", "1x", "99999999999999999999d", "", "1h 30m", "-1s"];

/// Header names for header canary stages.
pub const HEADER_NAMES: &[&str] = &["x-canary", "x-user-group"];

/// Header names a rule may refuse.
pub const BORDER_HEADER_NAMES: &[&str] = &["X-Canary", "x canary", ":authority", "x_canary", ""];

/// Bytes and tokens the byte-level mutator inserts: YAML syntax and tricky values.
pub const TOKENS: &[&str] = &[
    ": ",
    "- ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "  ",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "!!int ",
    "!!str ",
    "!!float ",
    "!!bool ",
    "!!null ",
    "!env ",
    "! ",
    "|",
    "|-\n  ",
    ">-\n  ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "? ",
    "%",
    "@",
    "`",
    "---\n",
    "...\n",
    "<<: ",
    "\u{feff}",
    "\u{2028}",
    "\u{85}",
    "\0",
    "\\",
    "\\u2028",
    "4611686018427387904",
    "18446744073709551616",
    "-1",
    "0",
    "100",
    "101",
    "10.0",
    "1e400",
    ".inf",
    "012",
    "yes",
    "on",
    "~",
    "null",
    "1:20",
    "2001-12-14",
    "*.example.com",
    "1.2.3.4",
    "istio-system/edge.gw",
    "weight-10",
    "\"2\"",
];
