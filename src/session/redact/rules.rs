//! The built-in rules: what a secret looks like, one rule per format.
//!
//! Token formats (prefixes, lengths, alphabets) follow the facts collected by gitleaks' default
//! rules (MIT); the patterns are written here for the `regex` crate (linear time, no
//! backtracking), over bytes with ASCII classes so its DFAs stay small and fast. Each rule has
//! keywords: a rule runs on a string only when one of them occurs in it (any case).
//!
//! A rule's secret is its capture group named `secret` (or `secret2`, `secret3`, ...: the first
//! that took part in the match), else the whole match; only that part is replaced, so the key in
//! `API_KEY=...`, the user in `scheme://user:pass@host` and the `-----BEGIN ...-----` lines stay
//! readable. A check then looks at the candidate and may drop it (a placeholder, a hash, a code
//! reference) or narrow it.
//!
//! Order matters: where candidates of several rules overlap, the union is redacted and named
//! after the earliest rule, so specific formats come first and the generic rules last.

use std::ops::Range;

use regex::bytes::Captures;

use super::entropy::{
    is_base64_private_key, is_code_reference, is_hex, is_labelled_hash, is_path, is_placeholder,
    looks_random, shannon,
};

/// Bump when a check function changes what it accepts: the save cache of every repository is
/// then invalidated (patterns and keywords are hashed into the rules id already).
pub const REVISION: u32 = 5;

/// The named groups of a match that the checks look at, as byte ranges of the whole text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Groups {
    /// `key`: the key of an assignment.
    pub key: Option<Range<usize>>,
    /// `sep`: the separator of an assignment (`=`, `:`, `:=`, `=>`).
    pub sep: Option<Range<usize>>,
    /// `before` took part (a `;` before a connection string's password).
    pub before: bool,
    /// `after` took part (a `;` after it).
    pub after: bool,
    /// `secret3` took part: the value is bare (not quoted).
    pub bare: bool,
    /// `close`: the name in an XML element's closing tag.
    pub close: Option<Range<usize>>,
    /// `scheme` took part (`Bearer ` in an `Authorization` header).
    pub scheme: bool,
}

impl Groups {
    /// The groups of `caps`, a match found in a haystack that starts at `offset` of the text.
    pub fn new(caps: &Captures<'_>, offset: usize) -> Self {
        let at = |name: &str| {
            caps.name(name)
                .map(|m| m.start() + offset..m.end() + offset)
        };
        Groups {
            key: at("key").or_else(|| at("key2")),
            sep: at("sep"),
            before: caps.name("before").is_some(),
            after: caps.name("after").is_some(),
            bare: caps.name("secret3").is_some(),
            close: at("close"),
            scheme: caps.name("scheme").is_some(),
        }
    }
}

/// Where a rule's matches can start, so that its regex runs anchored there instead of over the
/// whole text: the generic rules are the costly ones, and their keywords say where they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Anywhere: the regex searches the text.
    Anywhere,
    /// At a keyword (the rule's pattern starts with one).
    Keyword,
    /// At the start of the run of key characters (`[A-Za-z0-9_.-]`) holding a keyword.
    KeyStart,
}

/// How each rule's matches start (rules not listed: [`Anchor::Anywhere`]).
pub const ANCHORS: &[(&str, Anchor)] = &[
    ("secret-assignment", Anchor::KeyStart),
    ("high-entropy-secret", Anchor::Keyword),
    ("netrc-password", Anchor::Keyword),
];

/// Looks at a candidate: `text` is the whole string, `groups` the match's named groups, `secret`
/// the secret's byte range. Returns the range to redact, or `None` to keep the text.
pub type Check = fn(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>>;

/// One built-in rule.
#[derive(Clone, Copy)]
pub struct Spec {
    /// The rule id, as it appears in markers: `[REDACTED:<id>]`.
    pub id: &'static str,
    /// Words of which at least one must occur in a string for the rule to run on it (matched
    /// ignoring ASCII case: they only spare the rule's regex the strings it cannot match).
    pub keywords: &'static [&'static str],
    /// The pattern, for `regex::bytes::Regex`.
    pub pattern: &'static str,
    /// Accepts, narrows or drops a candidate.
    pub check: Check,
    /// True for the generic rules (assignments, headers, entropy), which user rules precede.
    pub generic: bool,
}

const fn token(id: &'static str, keywords: &'static [&'static str], pattern: &'static str) -> Spec {
    Spec {
        id,
        keywords,
        pattern,
        check: check_token,
        generic: false,
    }
}

const fn random(
    id: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
) -> Spec {
    Spec {
        id,
        keywords,
        pattern,
        check: check_random_token,
        generic: false,
    }
}

/// What follows a token: a character that cannot continue it, or the end.
macro_rules! end {
    () => {
        r"(?:[^0-9A-Za-z_\-]|$)"
    };
}

/// A key's closing quote, the separator, and the value's opening quote.
macro_rules! assign {
    () => {
        r#"\\{0,3}["'`]?[ \t]{0,5}(?::::=|::=|:=|\?=|\.=|=>|=|:)[ \t]{0,5}\\{0,3}["'`]?"#
    };
}

/// Every built-in rule, in priority order.
pub const BUILTIN: &[Spec] = &[
    // Private keys first: they are long and other rules could match inside them.
    Spec {
        id: "gcp-service-account-key",
        keywords: &["\"private_key"],
        pattern: r#"(?-u)\\{0,3}"private_key\\{0,3}"[ \t]*:[ \t]*\\{0,3}"-----BEGIN PRIVATE KEY-----(?P<secret>(?:[A-Za-z0-9+/=\t \r\n]|\\+[nrt])*)-----END PRIVATE KEY-----"#,
        check: check_pem,
        generic: false,
    },
    Spec {
        id: "private-key",
        keywords: &["private key"],
        pattern: r"(?-u)-----BEGIN[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?P<secret>(?:[A-Za-z0-9+/=\t \r\n]|\\+[nrt]|[A-Za-z][A-Za-z\-]{1,30}: [^\r\n\\]{0,200})*)(?:-----END[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        check: check_pem,
        generic: false,
    },
    Spec {
        id: "putty-private-key",
        keywords: &["private-lines:"],
        pattern: r"(?-u)Private-Lines: [0-9]+(?:\r?\n|\\+n)(?P<secret>(?:[A-Za-z0-9+/=]+(?:\r?\n|\\+n)?)+)",
        check: check_pem,
        generic: false,
    },
    token(
        "age-secret-key",
        &["AGE-SECRET-KEY-1"],
        r"(?-u)\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b",
    ),
    // Cloud providers.
    Spec {
        id: "aws-access-key-id",
        keywords: &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        pattern: r"(?-u)\b(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        check: check_token,
        generic: false,
    },
    Spec {
        id: "aws-secret-access-key",
        keywords: &[
            "aws",
            "secretaccesskey",
            "secret_access_key",
            "secret-access-key",
        ],
        pattern: concat!(
            r"(?i-u)(?:aws|secret[_\-]?access[_\-]?key)[a-z0-9_.\-]{0,32}",
            assign!(),
            r"(?P<secret>[a-z0-9/+]{40})(?:[^a-z0-9/+=]|$)"
        ),
        check: check_aws_secret,
        generic: false,
    },
    Spec {
        id: "azure-storage-account-key",
        keywords: &["accountkey"],
        pattern: r"(?i-u)AccountKey[ \t]*=[ \t]*(?P<secret>[a-z0-9+/]{40,100}={0,2})",
        check: check_token,
        generic: false,
    },
    Spec {
        id: "azure-shared-access-key",
        keywords: &["sharedaccesskey", "sharedaccesssignature"],
        pattern: r#"(?i-u)SharedAccess(?:Key|Signature)[ \t]*=[ \t]*(?P<secret>[^;"'` \t\r\n\\]{20,1024})"#,
        check: check_token,
        generic: false,
    },
    Spec {
        id: "azure-sas-signature",
        keywords: &["sig="],
        pattern: r"(?-u)[?&]sig=(?P<secret>[0-9A-Za-z%+/=]{30,200})",
        check: check_token,
        generic: false,
    },
    Spec {
        id: "azure-ad-client-secret",
        keywords: &["Q~"],
        pattern: r#"(?-u)(?:^|[\\'"` \t\r\n>=:(,)])(?P<secret>[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:$|[\\'"` \t\r\n<),])"#,
        check: check_token,
        generic: false,
    },
    token(
        "google-api-key",
        &["AIza"],
        concat!(r"(?-u)\b(?P<secret>AIza[0-9A-Za-z_\-]{35})", end!()),
    ),
    token(
        "digitalocean-token",
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        r"(?-u)\bdo[opr]_v1_[0-9a-f]{64}\b",
    ),
    // Code hosting.
    token("github-pat", &["ghp_"], r"(?-u)\bghp_[0-9A-Za-z]{36}\b"),
    token("github-oauth", &["gho_"], r"(?-u)\bgho_[0-9A-Za-z]{36}\b"),
    token(
        "github-app-token",
        &["ghu_", "ghs_"],
        r"(?-u)\bgh[us]_[0-9A-Za-z]{36}\b",
    ),
    token(
        "github-refresh-token",
        &["ghr_"],
        r"(?-u)\bghr_[0-9A-Za-z]{36,76}\b",
    ),
    token(
        "github-fine-grained-pat",
        &["github_pat_"],
        r"(?-u)\bgithub_pat_[0-9A-Za-z_]{50,255}\b",
    ),
    token(
        "gitlab-token",
        &[
            "glpat-", "glptt-", "glrt-", "gldt-", "glft-", "glsoat-", "glcbt-", "glimt-",
            "glagent-", "gloas-", "glwt-", "glffct-",
        ],
        r"(?-u)\b(?P<secret>gl(?:pat|ptt|rt|dt|ft|soat|cbt|imt|agent|oas|wt|ffct)-[0-9A-Za-z_\-.]{20,300})",
    ),
    random(
        "gitlab-runner-registration-token",
        &["GR1348941"],
        concat!(r"(?-u)\b(?P<secret>GR1348941[0-9A-Za-z_\-]{20})", end!()),
    ),
    random(
        "bitbucket-app-password",
        &["ATBB"],
        r"(?-u)\bATBB[0-9A-Za-z]{28,40}\b",
    ),
    token(
        "atlassian-api-token",
        &["ATATT3", "ATCTT3"],
        r"(?-u)\bAT[AC]TT3[0-9A-Za-z_\-=]{150,400}",
    ),
    Spec {
        id: "bitbucket-client-secret",
        keywords: &["bitbucket"],
        pattern: concat!(
            r"(?i-u)bitbucket[a-z0-9_.\-]{0,30}(?:secret|key|token)[a-z0-9_.\-]{0,20}",
            assign!(),
            r"(?P<secret>[a-z0-9=_\-]{32,64})\b"
        ),
        check: check_random_token,
        generic: false,
    },
    // Chat, payments, mail.
    Spec {
        id: "slack-token",
        keywords: &[
            "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "xoxe.",
        ],
        // Bot `xoxb-<10-13 digits>-<10-13 digits>-...`, user `xox[pe]-` with three numbers,
        // legacy `xox[os]-` and `xox[ar]-`, configuration `xoxe.xox[bp]-1-` and refresh
        // `xoxe-1-` tokens: each with its own shape, so `xoxb-12345-abcd234` is none.
        pattern: concat!(
            r"(?-u)\b(?P<secret>xoxb-[0-9]{10,13}-[0-9]{10,13}[0-9A-Za-z\-]*",
            r"|xox[pe](?:-[0-9]{10,13}){3}-[0-9A-Za-z\-]{28,34}",
            r"|xox[os]-[0-9]+-[0-9]+-[0-9]+-[0-9A-Fa-f]+",
            r"|xox[ar]-(?:[0-9]-)?[0-9A-Za-z]{8,48}",
            r"|xoxe\.xox[bp]-[0-9]-[0-9A-Za-z]{163,166}",
            r"|xoxe-[0-9]-[0-9A-Za-z]{146})"
        ),
        check: check_random_token,
        generic: false,
    },
    token(
        "slack-app-token",
        &["xapp-"],
        r"(?-u)\bxapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+\b",
    ),
    token(
        "slack-webhook",
        &["hooks.slack.com"],
        r"(?-u)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/]{20,120})",
    ),
    token(
        "discord-webhook",
        &["discord"],
        r"(?-u)discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<secret>[0-9A-Za-z_\-]{60,100})",
    ),
    random(
        "telegram-bot-token",
        &[":AA"],
        r"(?-u)\b(?P<secret>[0-9]{8,10}:AA[0-9A-Za-z_\-]{33})(?:[^0-9A-Za-z_\-]|$)",
    ),
    token(
        "stripe-api-key",
        &[
            "sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_",
        ],
        r"(?-u)\b[rs]k_(?:live|test|prod)_[0-9A-Za-z]{10,247}\b",
    ),
    token(
        "stripe-webhook-secret",
        &["whsec_"],
        r"(?-u)\bwhsec_[0-9A-Za-z+/=]{24,64}",
    ),
    random("twilio-api-key", &["SK"], r"(?-u)\bSK[0-9a-fA-F]{32}\b"),
    Spec {
        id: "twilio-auth-token",
        keywords: &["twilio"],
        pattern: concat!(
            r"(?i-u)twilio[a-z0-9_.\-]{0,30}",
            assign!(),
            r"(?P<secret>[0-9a-f]{32})\b"
        ),
        check: check_random_token,
        generic: false,
    },
    token(
        "sendgrid-api-key",
        &["SG."],
        concat!(
            r"(?-u)\b(?P<secret>SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43})",
            end!()
        ),
    ),
    random(
        "mailchimp-api-key",
        &["-us"],
        r"(?-u)\b[0-9a-f]{32}-us[0-9]{1,2}\b",
    ),
    token(
        "shopify-token",
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        r"(?-u)\bshp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}\b",
    ),
    random(
        "square-token",
        &["EAAA", "sq0atp-", "sq0csp-"],
        concat!(
            r"(?-u)\b(?P<secret>(?:EAAA|sq0atp-|sq0csp-)[0-9A-Za-z_\-]{22,60})",
            end!()
        ),
    ),
    // Package registries.
    token("npm-token", &["npm_"], r"(?-u)\bnpm_[0-9A-Za-z]{36}\b"),
    token(
        "pypi-token",
        &["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
        r"(?-u)\bpypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[0-9A-Za-z_\-]{50,}",
    ),
    random("crates-io-token", &["cio"], r"(?-u)\bcio[0-9A-Za-z]{32}\b"),
    token(
        "rubygems-api-key",
        &["rubygems_"],
        r"(?-u)\brubygems_[0-9a-f]{48}\b",
    ),
    random("nuget-api-key", &["oy2"], r"(?-u)\boy2[0-9a-z]{43}\b"),
    token(
        "dockerhub-token",
        &["dckr_pat_", "dckr_oat_"],
        concat!(
            r"(?-u)\b(?P<secret>dckr_(?:pat|oat)_[0-9A-Za-z_\-]{27,64})",
            end!()
        ),
    ),
    // Model providers.
    token(
        "anthropic-api-key",
        &["sk-ant-"],
        // `sk-ant-api03-` and `sk-ant-admin01-` keys are 93 characters and `AA`; other kinds
        // (`oat`, `sid`) are of no fixed length.
        concat!(
            r"(?-u)\b(?P<secret>sk-ant-(?:api03|admin01)-[0-9A-Za-z_\-]{93}AA",
            r"|sk-ant-(?:oat|sid)[0-9]{2}-[0-9A-Za-z_\-]{32,300})",
            end!()
        ),
    ),
    token(
        "openrouter-api-key",
        &["sk-or-v1-"],
        r"(?-u)\bsk-or-v1-[0-9a-f]{64}\b",
    ),
    token(
        "openai-api-key",
        &["sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"],
        r"(?-u)\bsk-(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{20,300}|\bsk-[0-9A-Za-z]{20}T3BlbkFJ[0-9A-Za-z]{20}\b",
    ),
    Spec {
        id: "sk-api-key",
        keywords: &["sk-"],
        pattern: r"(?-u)\bsk-[0-9A-Za-z_\-]{32,200}",
        check: check_sk_key,
        generic: false,
    },
    token("groq-api-key", &["gsk_"], r"(?-u)\bgsk_[0-9A-Za-z]{52}\b"),
    random(
        "huggingface-token",
        &["hf_", "api_org_"],
        r"(?-u)\b(?:hf_|api_org_)[A-Za-z]{34}\b",
    ),
    token("xai-api-key", &["xai-"], r"(?-u)\bxai-[0-9A-Za-z]{80}\b"),
    random(
        "replicate-api-token",
        &["r8_"],
        r"(?-u)\br8_[0-9A-Za-z]{37}\b",
    ),
    token(
        "perplexity-api-key",
        &["pplx-"],
        r"(?-u)\bpplx-[0-9A-Za-z]{48}\b",
    ),
    token(
        "langsmith-api-key",
        &["lsv2_"],
        r"(?-u)\blsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}\b",
    ),
    // Infrastructure and other services.
    token(
        "hashicorp-vault-token",
        &["hvs.", "hvb.", "hvr."],
        concat!(
            r"(?-u)\b(?P<secret>hv[sbr]\.[0-9A-Za-z_\-]{24,400})",
            end!()
        ),
    ),
    token(
        "terraform-cloud-token",
        &["atlasv1"],
        r"(?-u)\b[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_\-=]{60,70}",
    ),
    token(
        "doppler-token",
        &[
            "dp.pt.",
            "dp.st.",
            "dp.sa.",
            "dp.ct.",
            "dp.scim.",
            "dp.audit.",
        ],
        r"(?-u)\bdp\.(?:pt|st|sa|ct|scim|audit)\.[0-9A-Za-z]{40,44}\b",
    ),
    token(
        "linear-api-key",
        &["lin_api_", "lin_oauth_"],
        r"(?-u)\blin_(?:api|oauth)_[0-9A-Za-z]{40}\b",
    ),
    random(
        "notion-token",
        &["ntn_", "secret_"],
        r"(?-u)\b(?:ntn_[0-9A-Za-z]{46}|secret_[0-9A-Za-z]{43})\b",
    ),
    token(
        "postman-api-key",
        &["PMAK-"],
        r"(?-u)\bPMAK-[0-9a-f]{24}-[0-9a-f]{34}\b",
    ),
    random(
        "databricks-token",
        &["dapi"],
        r"(?-u)\bdapi[0-9a-f]{32}(?:-[0-9])?\b",
    ),
    token(
        "new-relic-key",
        &["NRAK-", "NRJS-", "NRII-"],
        r"(?-u)\b(?:NRAK-[0-9A-Z]{27}|NRJS-[0-9a-f]{19}|NRII-[0-9A-Za-z_\-]{32})\b",
    ),
    token(
        "grafana-token",
        &["glc_", "glsa_"],
        r"(?-u)\b(?:glc_[0-9A-Za-z+/]{32,400}={0,2}|glsa_[0-9A-Za-z]{32}_[0-9A-Fa-f]{8}\b)",
    ),
    token(
        "sentry-token",
        &["sntrys_", "sntryu_"],
        concat!(
            r"(?-u)\b(?P<secret>sntrys_[0-9A-Za-z+/=_\-]{40,400}|sntryu_[0-9a-f]{64})",
            end!()
        ),
    ),
    token(
        "planetscale-token",
        &["pscale_pw_", "pscale_tkn_", "pscale_oauth_"],
        r"(?-u)\bpscale_(?:pw|tkn|oauth)_[0-9A-Za-z_\-.=]{32,64}",
    ),
    token("supabase-token", &["sbp_"], r"(?-u)\bsbp_[0-9a-f]{40}\b"),
    token("pulumi-token", &["pul-"], r"(?-u)\bpul-[0-9a-f]{40}\b"),
    token(
        "flyio-token",
        &["fm1_", "fm2_", "fm1a_", "fm1r_", "fm2a_", "fm2r_"],
        r"(?-u)\bfm[12][ar]?_[0-9A-Za-z+/=_\-]{50,1000}",
    ),
    token(
        "onepassword-service-account-token",
        &["ops_eyJ"],
        r"(?-u)\bops_eyJ[0-9A-Za-z+/=_\-]{200,2000}",
    ),
    // Structured tokens.
    Spec {
        id: "jwt",
        keywords: &["eyJ"],
        pattern: r"(?-u)\beyJ[0-9A-Za-z_\-]{10,}\.eyJ[0-9A-Za-z_\-]{10,}\.(?:[0-9A-Za-z_\-+/]{10,}={0,2})?",
        check: check_token,
        generic: false,
    },
    random(
        "sourcegraph-token",
        &["sgp_"],
        r"(?-u)\bsgp_(?:[0-9a-fA-F]{16}_|local_)?[0-9a-fA-F]{40}\b",
    ),
    random(
        "easypost-api-key",
        &["EZAK", "EZTK"],
        r"(?-u)\bEZ[AT]K[0-9A-Za-z]{54}\b",
    ),
    token(
        "openshift-token",
        &["sha256~"],
        concat!(r"(?-u)\b(?P<secret>sha256~[0-9A-Za-z_\-]{43})", end!()),
    ),
    token(
        "onepassword-secret-key",
        &["A3-"],
        r"(?-u)\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b",
    ),
    random(
        "facebook-access-token",
        &["EAAM", "EAAC", "facebook"],
        r"(?-u)\b(?:EAA[MC][0-9A-Za-z]{100,400}|[0-9]{15,16}(?:\||%7[Cc])[0-9A-Za-z_\-]{27})\b",
    ),
    token(
        "intra42-client-secret",
        &["s-s4t2ud-", "s-s4t2af-"],
        r"(?-u)\bs-s4t2(?:ud|af)-[0-9a-f]{64}\b",
    ),
    random(
        "adobe-client-secret",
        &["p8e-"],
        r"(?-u)\bp8e-[0-9A-Za-z]{32}\b",
    ),
    // Services whose keys have no prefix: the service's name in the key says what it is.
    Spec {
        id: "named-service-key",
        keywords: &[
            "sonar",
            "sumo",
            "cloudflare",
            "heroku",
            "hubspot",
            "snyk",
            "messagebird",
        ],
        pattern: concat!(
            r"(?i-u)(?P<key>(?:sonar|sumo(?:logic)?[_.\-]|cloudflare|heroku|hubspot|snyk|messagebird)[a-z0-9_.\-]{0,40})",
            assign!(),
            r"(?P<secret>v1\.0-[0-9a-f]{24}-[0-9a-f]{146}|(?:sq[pua]_)?[0-9a-z]{40}|[0-9a-f]{37}",
            r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|su[0-9a-z]{12})",
            end!()
        ),
        check: check_service_key,
        generic: false,
    },
    // Credential files an agent prints with `cat`.
    Spec {
        id: "base64-private-key",
        keywords: &["LS0tLS1CRUdJTi"],
        pattern: r"(?-u)\b(?P<secret>LS0tLS1CRUdJTi[0-9A-Za-z+/]{20,}={0,2})",
        check: check_base64_private_key,
        generic: false,
    },
    Spec {
        id: "netrc-password",
        keywords: &["machine", "default"],
        pattern: concat!(
            r"(?-u)(?:machine[ \t\r\n]+[^ \t\r\n]+|default)[ \t\r\n]+",
            r"(?:(?:account|port)[ \t\r\n]+[^ \t\r\n]+[ \t\r\n]+)*",
            r"login[ \t\r\n]+[^ \t\r\n]+[ \t\r\n]+",
            r"(?:(?:account|port)[ \t\r\n]+[^ \t\r\n]+[ \t\r\n]+)*",
            r#"password[ \t\r\n]+(?P<secret>[^ \t\r\n"']+)"#
        ),
        check: check_plain,
        generic: false,
    },
    Spec {
        id: "pgpass-password",
        keywords: &[":5432:", ":5433:", ":5434:", ":6432:", ":*:"],
        pattern: r"(?m-u)^[ \t]*[^:#\s][^:\s]{0,253}:(?:[0-9]{1,5}|\*):(?:\\.|[^:\\\s])+:(?:\\.|[^:\\\s])+:(?P<secret>(?:\\.|[^\\\r\n])+?)[ \t]*\r?$",
        check: check_plain,
        generic: false,
    },
    Spec {
        id: "kubernetes-secret-data",
        keywords: &["kind: secret", "kind: 'secret", "kind: \"secret"],
        pattern: r#"(?m-u)^(?P<indent>[ \t]{1,16})(?P<key>[A-Za-z0-9._\-]{1,253}):[ \t]+(?:[|>][+\-]?[ \t]*\r?\n[ \t]+)?["']?(?P<secret>[A-Za-z0-9+/]{4,}={0,2})["']?[ \t]*\r?$"#,
        check: check_kubernetes_secret_data,
        generic: false,
    },
    Spec {
        id: "xml-element-secret",
        keywords: &[
            "pass>",
            "password>",
            "passwd>",
            "passphrase>",
            "pwd>",
            "secret>",
            "token>",
            "key>",
            "credential>",
            "credentials>",
        ],
        pattern: r"(?i-u)<(?P<key>[a-z0-9_][a-z0-9_.:\-]{0,80})(?:[ \t\r\n][^<>]{0,300})?>[ \t\r\n]*(?P<secret>[^<>\s]{1,1024})[ \t\r\n]*</(?P<close>[a-z_][a-z0-9_.:\-]{0,80})>",
        check: check_xml_element,
        generic: false,
    },
    Spec {
        id: "xml-attribute-secret",
        keywords: &["value="],
        pattern: r#"(?i-u)\b(?:key|name)[ \t]*=[ \t]*(?:"(?P<key>[^"<>\r\n]{1,100})"|'(?P<key2>[^'<>\r\n]{1,100})')[ \t\r\n]+value[ \t]*=[ \t]*(?:"(?P<secret>[^"\r\n]{1,1024})"|'(?P<secret2>[^'\r\n]{1,1024})')"#,
        check: check_quoted_assignment,
        generic: false,
    },
    Spec {
        id: "bundler-credentials",
        keywords: &["bundle_"],
        pattern: r#"(?i-u)\bBUNDLE_[A-Z0-9_]{1,100}__[A-Z0-9_]{1,100}["']?[ \t]*[:=][ \t]*["']?(?P<secret>[^:\s"']{1,100}:[^\s"';&]{3,200})"#,
        check: check_plain,
        generic: false,
    },
    // Credentials in URLs, connection strings and command lines.
    Spec {
        id: "url-password",
        keywords: &["://"],
        pattern: r#"(?i-u)\b[a-z][a-z0-9+.\-]{1,20}://[^ \t\r\n:/?#@"'<>\[\]\\]{0,100}:(?P<secret>[^ \t\r\n/?#@"'<>\\]{1,200})@[a-z0-9.\-_\[]"#,
        check: check_plain,
        generic: true,
    },
    Spec {
        id: "connection-string-password",
        keywords: &["password", "pwd"],
        pattern: r#"(?i-u)(?P<before>;)?[ \t]*\b(?:password|pwd)[ \t]*=[ \t]*(?P<secret>[^;"'`\r\n\\ \t]{1,200})(?P<after>;)?"#,
        check: check_connection_string,
        generic: true,
    },
    Spec {
        id: "cli-password",
        keywords: &["mysql", "mariadb", "sshpass", "redis-cli"],
        pattern: r#"(?-u)\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\r\n|;&]{0,200}?[ \t]-p(?P<secret>[^ \t\r\n"'`;|&\\]{3,128})|\bsshpass[ \t]+-p[ \t]*["']?(?P<secret2>[^ \t\r\n"'`;|&\\]{3,128})|\bredis-cli\b[^\r\n|;&]{0,200}?[ \t]-a[ \t]+["']?(?P<secret3>[^ \t\r\n"'`;|&\\]{3,128})"#,
        check: check_plain,
        generic: true,
    },
    Spec {
        id: "curl-basic-auth",
        keywords: &["curl"],
        pattern: r#"(?-u)\bcurl\b(?:[^\r\n]|\\\r?\n){0,300}?[ \t](?:-u|--user)[ \t=]+["']?(?P<key>[^: \t\r\n"']{0,100}):["']?(?P<secret>[^ \t\r\n"'\\]{3,200})"#,
        check: check_curl_user,
        generic: true,
    },
    Spec {
        id: "authorization-header",
        keywords: &["authorization"],
        pattern: r#"(?i-u)authorization\\{0,3}["'`]?[ \t]*[:=][ \t]*\\{0,3}["'`]?(?P<scheme>(?:bearer|basic|token|digest|negotiate|apikey|api-key|api-token|sso-key|ssws|key|bot)[ \t]+)?(?P<secret>[0-9a-z._~+/=\-:]{8,4096})"#,
        check: check_authorization,
        generic: true,
    },
    Spec {
        id: "bearer-token",
        keywords: &["bearer"],
        pattern: r"(?i-u)\bbearer[ \t]+(?P<secret>[0-9a-z._~+/\-]{20,4096}=*)",
        check: check_bearer,
        generic: true,
    },
    // Assignments whose key names a secret.
    Spec {
        id: "cli-secret-flag",
        keywords: &["--"],
        pattern: r#"(?i-u)(?:^|[ \t])--?(?P<key>[a-z0-9_\-]*(?:pass(?:word|wd|phrase)?|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key)[a-z0-9_\-]*)[ \t]+(?:\\{0,3}["'](?P<secret>[^"'\\\r\n]{4,512})\\{0,3}["']|(?P<secret3>[^ \t\r\n"'`;|&<>()\\]{6,512}))"#,
        check: check_assignment,
        generic: true,
    },
    Spec {
        id: "secret-call-argument",
        keywords: &["setproperty", "setenv", "set_var"],
        pattern: r#"(?i-u)\b(?:setProperty|setenv|set_var)[ \t]*\([ \t]*(?:"(?P<key>[^"\r\n]{1,100})"|'(?P<key2>[^'\r\n]{1,100})')[ \t]*,[ \t]*(?:"(?P<secret>[^"\r\n]{1,1024})"|'(?P<secret2>[^'\r\n]{1,1024})')"#,
        check: check_quoted_assignment,
        generic: true,
    },
    Spec {
        id: "secret-assignment",
        keywords: &[
            "pass",
            "pwd",
            "secret",
            "token",
            "credential",
            "creds",
            "auth",
            "key",
        ],
        pattern: r#"(?i-u)(?P<key>[a-z0-9_.\-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|creds|auth|api[_.\-]?key|access[_.\-]?key|private[_.\-]?key|account[_.\-]?key|signing[_.\-]?key|encryption[_.\-]?key|master[_.\-]?key|session[_.\-]?key|app[_.\-]?key|license[_.\-]?key)[a-z0-9_.\-]*)\\{0,3}["'`]?(?:[ \t]*:?[ \t]*(?:string|str|&str|\[\]byte))?[ \t]{0,8}(?P<sep>:::=|::=|:=|\?=|\.=|=>|=|:)[ \t]{0,8}(?:\\{0,3}"(?P<secret>(?:[^"\\\r\n]|\\[^"'\\\r\n]){1,1024})\\{0,3}"|\\{0,3}'(?P<secret2>(?:[^'\\\r\n]|\\[^"'\\\r\n]){1,1024})\\{0,3}'|`(?P<secret4>[^`\r\n]{1,1024})`|(?P<secret3>[^ \t\r\n"'`,;&<>(){}\[\]\\]{1,1024}))"#,
        check: check_assignment,
        generic: true,
    },
    // Long random values right after a secret-ish word.
    Spec {
        id: "high-entropy-secret",
        keywords: &[
            "key",
            "token",
            "secret",
            "pass",
            "pwd",
            "auth",
            "cred",
            "signature",
            "salt",
            "private",
        ],
        pattern: r#"(?i-u)(?P<key>(?:key|token|secret|passw|pwd|auth|credential|cred|signature|salt|private)[a-z0-9_.\-]{0,24})\\{0,3}["'`]?[ \t]{0,4}(?::=|=>|=|:|[ \t])[ \t]{0,4}\\{0,3}["'`]?(?P<secret>[a-z0-9+/=_\-.~]{20,512})"#,
        check: check_entropy,
        generic: true,
    },
];

fn slice<'t>(text: &'t str, span: &Range<usize>) -> &'t str {
    text.get(span.clone()).unwrap_or("")
}

fn trim_span(text: &str, mut span: Range<usize>, strip: &[u8]) -> Range<usize> {
    let b = text.as_bytes();
    while span.end > span.start && strip.contains(&b[span.end - 1]) {
        span.end -= 1;
    }
    while span.start < span.end && strip.contains(&b[span.start]) {
        span.start += 1;
    }
    span
}

/// Any non-placeholder value.
fn check_plain(text: &str, _: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let value = slice(text, &secret);
    (!value.is_empty() && !is_placeholder(value)).then_some(secret)
}

/// A prefixed token: not a placeholder (`ghp_xxxx...`); a trailing `-` or `.` (end of a
/// sentence) is not part of it.
fn check_token(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let secret = trim_span(text, secret, b"-.");
    if has_repeated_tail(slice(text, &secret)) {
        return None;
    }
    check_plain(text, groups, secret)
}

/// A prefixed token whose prefix is short or common: the rest must look random (letters and
/// digits mixed, entropy of a random value).
fn check_random_token(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let secret = check_token(text, groups, secret)?;
    // The part after the prefix (`r8_`, `oy2`, `cio`) must look random by itself.
    let value = slice(text, &secret).get(3..).unwrap_or("");
    let letters = value.bytes().any(|b| b.is_ascii_alphabetic());
    let mixed_case = value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_uppercase());
    let digits = value.bytes().any(|b| b.is_ascii_digit());
    (letters && (digits || mixed_case) && shannon(value) >= 3.0).then_some(secret)
}

fn check_aws_secret(text: &str, _: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let value = slice(text, &secret);
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&c| c)
    .count();
    (!is_hex(value) && classes >= 2 && shannon(value) >= 3.5 && !is_placeholder(value))
        .then_some(secret)
}

/// The body of a private key block: leading and trailing blank lines (real or `\n` escapes) are
/// kept outside the marker; at least 32 base64 characters are required.
fn check_pem(text: &str, _: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let mut span = secret;
    loop {
        let before = span.clone();
        span = trim_span(text, span, b" \t\r\n");
        // `\n` escapes, possibly doubled (`\\n`).
        if span.end >= span.start + 2
            && matches!(b[span.end - 1], b'n' | b'r' | b't')
            && b[span.end - 2] == b'\\'
        {
            span.end -= 2;
            while span.end > span.start && b[span.end - 1] == b'\\' {
                span.end -= 1;
            }
        }
        if span.start + 2 <= span.end && b[span.start] == b'\\' {
            let mut i = span.start;
            while i < span.end && b[i] == b'\\' {
                i += 1;
            }
            if i < span.end && matches!(b[i], b'n' | b'r' | b't') {
                span.start = i + 1;
            }
        }
        if span == before {
            break;
        }
    }
    let base64 = b[span.clone()]
        .iter()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
        .count();
    (base64 >= 32).then_some(span)
}

/// A base64 PEM block (`client-key-data: LS0tLS1CRUdJTi...`) that decodes to a private key;
/// certificates and public keys are left alone.
fn check_base64_private_key(
    text: &str,
    groups: &Groups,
    secret: Range<usize>,
) -> Option<Range<usize>> {
    is_base64_private_key(slice(text, &secret))
        .then_some(secret)
        .and_then(|s| check_plain(text, groups, s))
}

/// `<password>...</password>` (the value may sit on a line of its own): the element's name
/// names a secret, the closing tag is the same element's, and the value is judged as a quoted
/// literal assigned to that name.
fn check_xml_element(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let key = slice(text, groups.key.as_ref()?);
    let close = slice(text, groups.close.as_ref()?);
    (key == close && assigned_value_is_secret(key, slice(text, &secret), false, false, false))
        .then_some(secret)
}

/// A base64 value in the `data:` block of a Kubernetes `Secret` manifest (`kubectl get secret
/// -o yaml`): every value there is a secret, whatever its key is called. The block is found by
/// walking back to the nearest line indented less than the value's (at most 64 KiB back).
fn check_kubernetes_secret_data(
    text: &str,
    groups: &Groups,
    secret: Range<usize>,
) -> Option<Range<usize>> {
    let key = groups.key.as_ref()?;
    let value = slice(text, &secret);
    // The YAML document holding the value (between `---` lines) is a Secret.
    let doc_start = text[..key.start].rfind("\n---").map_or(0, |i| i + 4);
    let doc_end = text[key.start..]
        .find("\n---")
        .map_or(text.len(), |i| key.start + i);
    // Four bytes or fewer (`eWVzCg==` is `yes` and a newline) hold no secret worth the name.
    let bytes = value.len() / 4 * 3 - value.bytes().rev().take_while(|&b| b == b'=').count();
    if !value.len().is_multiple_of(4)
        || bytes <= 4
        || !is_kubernetes_secret(&text[doc_start..doc_end])
    {
        return None;
    }
    let b = text.as_bytes();
    let line_start = key.start
        - b[..key.start]
            .iter()
            .rev()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
    let indent = key.start - line_start;
    let floor = line_start.saturating_sub(64 << 10);
    let mut end = line_start;
    while end > floor {
        // The line before `end` (which starts a line).
        let prev_end = end - 1;
        let prev_start = b[floor..prev_end]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(floor, |i| floor + i + 1);
        let line = &text[prev_start..prev_end];
        let trimmed = line.trim_end_matches('\r');
        let own = trimmed.len() - trimmed.trim_start().len();
        if !trimmed.trim().is_empty() && own < indent {
            return (trimmed.trim() == "data:").then_some(secret);
        }
        end = prev_start;
    }
    None
}

/// True when `text` holds a line `kind: Secret` (any case, the value possibly quoted).
fn is_kubernetes_secret(text: &str) -> bool {
    text.lines().any(|line| {
        line.trim()
            .strip_prefix("kind:")
            .map(|v| v.trim().trim_matches(['"', '\'']))
            .is_some_and(|v| v.eq_ignore_ascii_case("secret"))
    })
}

/// `curl -u user:password`: not an example (`-u <user:password>`, `-u test:test`, the password
/// the user's name again).
fn check_curl_user(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let user = groups.key.as_ref().map_or("", |k| slice(text, k));
    let password = slice(text, &secret);
    if user.starts_with('<') || password.ends_with('>') || user == password {
        return None;
    }
    check_plain(text, groups, secret)
}

/// `Authorization: <scheme> <credentials>`; without a scheme, the value must look made by a
/// machine (`Authorization: required` is prose).
fn check_authorization(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    if !groups.scheme && !machine_made(slice(text, &secret)) {
        return None;
    }
    check_plain(text, groups, secret)
}

/// A value of 16 characters or more mixing letters and digits with the entropy of a generated
/// one: hex, UUIDs and random tokens alike.
fn machine_made(value: &str) -> bool {
    value.len() >= 16
        && value.bytes().any(|b| b.is_ascii_digit())
        && value.bytes().any(|b| b.is_ascii_alphabetic())
        && shannon(value) >= 3.0
}

/// A value assigned to a key naming a service (`SONAR_LOGIN`, `SUMO_ACCESS_ID`, `HEROKU_KEY`):
/// a value of the service's shape that looks made by a machine, not a path or a name.
fn check_service_key(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let key = groups.key.as_ref().map_or("", |k| slice(text, k));
    let value = slice(text, &secret);
    let words = key_words(key);
    if words
        .iter()
        .any(|w| NOT_SECRET.contains(&w.as_str()) || w == "url" || w == "host")
    {
        return None;
    }
    let random = machine_made(value) || (value.len() == 14 && shannon(value) >= 3.0);
    (random && !is_placeholder(value)).then_some(secret)
}

/// A bare `sk-...` key; an Anthropic key (`sk-ant-`) of the wrong shape is no key at all.
fn check_sk_key(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    if slice(text, &secret).starts_with("sk-ant-") {
        return None;
    }
    check_random_token(text, groups, secret)
}

/// A quoted value whose key is given apart from it (`<add key="Password" value="..."/>`).
fn check_quoted_assignment(
    text: &str,
    groups: &Groups,
    secret: Range<usize>,
) -> Option<Range<usize>> {
    let key = slice(text, groups.key.as_ref()?);
    assigned_value_is_secret(key, slice(text, &secret), false, false, false).then_some(secret)
}

/// `Password=...` counts as a connection string only next to a `;` (`Server=db;Password=x;`),
/// so an `env` line such as `PWD=/home/me` is left to the assignment rule's judgement.
fn check_connection_string(
    text: &str,
    groups: &Groups,
    secret: Range<usize>,
) -> Option<Range<usize>> {
    if !groups.before && !groups.after {
        return None;
    }
    let secret = trim_span(text, secret, b" \t");
    let value = slice(text, &secret);
    (!value.is_empty() && !is_placeholder(value) && !is_path(value) && !is_code_reference(value))
        .then_some(secret)
}

/// A bare `Bearer <value>`: a JWT or a random-looking value (prose such as "bearer tokens are
/// sent..." is not).
fn check_bearer(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let value = slice(text, &secret);
    if value.starts_with("eyJ") && value.contains('.') {
        return check_plain(text, groups, secret);
    }
    let trimmed = value.trim_end_matches('=');
    (looks_random(trimmed) || (trimmed.len() >= 32 && !is_placeholder(trimmed))).then_some(secret)
}

/// Splits a key into lowercase words: `accessKeyId` and `ACCESS_KEY-ID` both give
/// `["access", "key", "id"]`.
pub fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Last words of keys that describe a secret without holding it (`token_type`, `password_file`,
/// `private_key_id`, `max_tokens`).
const DESCRIBING: &[&str] = &[
    "id",
    "ids",
    "count",
    "counts",
    "file",
    "files",
    "path",
    "paths",
    "name",
    "names",
    "url",
    "urls",
    "uri",
    "type",
    "types",
    "length",
    "len",
    "size",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "at",
    "in",
    "limit",
    "limits",
    "env",
    "var",
    "vars",
    "header",
    "headers",
    "field",
    "prefix",
    "suffix",
    "hint",
    "policy",
    "hash",
    "sha",
    "digest",
    "checksum",
    "fingerprint",
    "version",
    "provider",
    "providers",
    "endpoint",
    "cmd",
    "command",
    "helper",
    "sock",
    "socket",
    "dir",
    "enabled",
    "disabled",
    "required",
    "mode",
    "format",
    "index",
    "kind",
    "ref",
    "refs",
    "label",
    "description",
    "desc",
    "pattern",
    "regex",
    "rule",
    "rules",
    "min",
    "max",
    "usage",
    "budget",
    "store",
    "storage",
    "manager",
    "source",
    "location",
    "arn",
    "encoding",
    "algorithm",
    "alg",
    "method",
    "scope",
    "scopes",
    "audience",
    "issuer",
    "template",
    "prompt",
    "input",
    "stdin",
    "timeout",
    "lifetime",
    "rotation",
    "strength",
    "visible",
    "shown",
    "set",
    "changed",
    "updated",
    "created",
    "placeholder",
    "message",
    "error",
    "errors",
    "status",
    "valid",
    "validity",
    "generator",
    "class",
    "schema",
    "option",
    "options",
    "flag",
    "key_id",
    "keyid",
    "handle",
    "callback",
    "service",
    "server",
    "host",
    "port",
    "user",
    "username",
    "login",
    "account",
    "email",
    "region",
    "bucket",
    "project",
    "org",
    "tenant",
    "client",
    "mechanism",
    "plugin",
    "backend",
    "cache",
    "exists",
    "present",
    "missing",
    "ok",
    "reset",
    "request",
    "response",
    "spec",
    "config",
    "settings",
    "tokens",
    "info",
    "meta",
    "metadata",
    "age",
    "ptr",
    "fn",
    "func",
    "handler",
    "buf",
    "buffer",
    "vec",
    "range",
    "ty",
    "attributes",
    "attrs",
    "stream",
    "iter",
    "parser",
    "reader",
    "writer",
    "slice",
    "pos",
    "offset",
    "start",
    "end",
    "span",
    "node",
    "tree",
    "list",
    "map",
    "state",
    "result",
    "kinds",
    "impl",
    "trait",
    "struct",
];

/// Words that make a key name something public or no credential at all, wherever they stand:
/// a publishable key, an anti-forgery token of a web form, a database's primary or foreign key,
/// a keyboard event.
const NOT_SECRET: &[&str] = &[
    "public",
    "publishable",
    "csrf",
    "xsrf",
    "authenticity",
    "primary",
    "foreign",
    "event",
    "down",
    "up",
    "press",
];

/// True when `value` spells `key` again (`KeyMeshing = "id-Gost-KeyMeshing"`): a name, no secret.
fn value_spells_key(key: &str, value: &str) -> bool {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let (k, v) = (letters(key), letters(value));
    !v.is_empty() && (k.ends_with(&v) || (v.len() >= 8 && k.contains(&v)))
}

/// True when a value ending at `end` goes on with `..` or `…`: cut short for display
/// (`TOKEN=ops_eyJzaWdu...`), no usable secret.
fn cut_short(text: &str, end: usize) -> bool {
    let rest = text.get(end..).unwrap_or("");
    rest.starts_with("..") || rest.starts_with('\u{2026}')
}

/// True for a package or artifact name with its version (`jjwt-jackson-0.11.2`).
fn is_versioned_name(value: &str) -> bool {
    let Some((name, version)) = value.rsplit_once('-') else {
        return false;
    };
    let dotted = version.split('.').count() >= 2
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    dotted
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
}

/// True when the part after a token's prefix (`sntryu_`, `glc_`, `AIza`) is one character
/// repeated (`glc_1111...=`): an example, not a token.
fn has_repeated_tail(value: &str) -> bool {
    let tail = value
        .split_once(['_', '-'])
        .map_or(value.get(4..).unwrap_or(""), |(_, t)| t)
        .trim_end_matches('=');
    tail.len() >= 8 && tail.bytes().all(|b| b == tail.as_bytes()[0])
}

/// A token family a prefix names: the prefix, the fewest characters a real token of the family
/// has, and the alphabet of those characters after the prefix.
pub(crate) type Family = (&'static str, usize, fn(u8) -> bool);

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Token families whose prefix says what a value is. A value that starts like one and is
/// shorter than the family's shortest token (`xoxp-` and eight digits, `sm_pat_` and ten
/// characters), or whose characters up to that length leave the family's alphabet (`dapi` and a
/// `g` among hex digits), was typed by hand: the family's own rule does not take it, and neither
/// do the generic rules. What follows the shortest token's length is not judged (formats grow).
pub(crate) const TOKEN_FAMILIES: &[Family] = &[
    ("xoxb-", 26, alnum_dash),
    ("xoxp-", 67, alnum_dash),
    ("xoxe-", 67, alnum_dash),
    ("xoxe.", 171, alnum_dash),
    ("xoxa-", 13, alnum_dash),
    ("xoxr-", 13, alnum_dash),
    ("xoxo-", 12, alnum_dash),
    ("xoxs-", 12, alnum_dash),
    ("ghp_", 40, alnum),
    ("gho_", 40, alnum),
    ("ghu_", 40, alnum),
    ("ghs_", 40, alnum),
    ("ghr_", 40, alnum),
    ("github_pat_", 61, alnum_underscore),
    ("glpat-", 26, url_safe),
    ("npm_", 40, alnum),
    ("sk-ant-", 45, url_safe),
    ("sk_live_", 18, alnum),
    ("sk_test_", 18, alnum),
    ("rk_live_", 18, alnum),
    ("rk_test_", 18, alnum),
    ("sm_pat_", 23, alnum),
    ("sm_aat_", 23, alnum),
    ("sm_sat_", 23, alnum),
    ("AIza", 39, url_safe),
    ("dapi", 36, lower_hex),
];

/// True when `value` starts like a token of a known family and breaks its shape: too short,
/// or a character outside the family's alphabet within the shortest token's length.
fn breaks_family_shape(value: &str) -> bool {
    TOKEN_FAMILIES.iter().any(|(prefix, min, alphabet)| {
        value.starts_with(prefix)
            && (value.len() < *min
                || !value.as_bytes()[prefix.len()..*min]
                    .iter()
                    .all(|&b| alphabet(b)))
    })
}

/// Extensions of source and data files, whose names are no keys.
const FILE_EXTENSIONS: &[&str] = &[
    "rs", "py", "go", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt", "rb", "php", "c", "h",
    "cc", "cpp", "hpp", "cs", "swift", "scala", "sh", "bash", "zsh", "json", "yaml", "yml", "toml",
    "md", "txt", "lock", "html", "css", "sql", "xml", "proto", "log",
];

/// Words that name the secret itself.
const STRONG: &[&str] = &[
    "pass",
    "pwd",
    "passwd",
    "password",
    "passphrase",
    "secret",
    "token",
    "credential",
    "credentials",
    "creds",
    "auth",
];

/// Strong words that name a secret only as a key's last word, and then only with a value that
/// looks like one (a digit in 8 characters or more, or random).
const WEAK: &[&str] = &["pass", "auth", "pwd"];

/// Adjacent words that name a key holding a secret.
const COMPOUND: &[&str] = &[
    "apikey",
    "accesskey",
    "privatekey",
    "accountkey",
    "authkey",
    "secretkey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "sharedaccesskey",
    "sessionkey",
    "appkey",
    "licensekey",
    "clientsecret",
];

/// True for a key word that names a secret: `password`, `token`, `dbpassword`, `apikey`, ...
fn is_strong_word(word: &str) -> bool {
    let w = word.trim_end_matches(|c: char| c.is_ascii_digit());
    STRONG.contains(&w)
        || w.ends_with("password")
        || w.ends_with("passwd")
        || w.ends_with("passphrase")
        || w.ends_with("secret")
        || w.ends_with("token")
        || w.starts_with("password")
        || COMPOUND.contains(&w)
}

/// True when a key (`GITHUB_TOKEN`, `db.password`, `x-api-key`, `AccountKey`) names a secret
/// value, and not something about one (`token_type`, `max_tokens`, `password_file`).
pub fn key_names_secret(key: &str) -> bool {
    // A file name (`credential_helpers.rs:12:5` in a compiler message), not a key.
    if let Some((_, ext)) = key.rsplit_once('.') {
        if FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            return false;
        }
    }
    let words = key_words(key);
    let Some(last) = words
        .iter()
        .rev()
        .find(|w| !w.bytes().all(|b| b.is_ascii_digit()))
    else {
        return false;
    };
    if DESCRIBING.contains(&last.as_str()) || words.iter().any(|w| NOT_SECRET.contains(&w.as_str()))
    {
        return false;
    }
    if words.iter().any(|w| is_strong_word(w)) {
        // The weak words (`auth`, `pass`, `pwd`) name a secret only as the last word
        // (`"auth": ...`, `DB_PASS`), not in `needless_pass_by_value` or `auth_methods`.
        return words
            .iter()
            .any(|w| is_strong_word(w) && (!WEAK.contains(&w.as_str()) || w == last));
    }
    // Whole words only: `master_key` and `masterKey`, not `master-keying`.
    (2..=3).any(|n| {
        words
            .windows(n)
            .any(|w| COMPOUND.contains(&w.concat().as_str()))
    })
}

/// A value assigned to a key that names a secret (`API_KEY=...`, `"password": "..."`, or a JSON
/// string under such a key).
fn check_assignment(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    let key = groups.key.clone().map_or("", |k| slice(text, &k));
    let bare = groups.bare;
    let secret = if bare {
        let secret = config_line_value(text, groups, secret);
        trim_span(text, secret, b".:?")
    } else {
        trim_span(text, secret, b" \t")
    };
    // `token = format!(...)`, `password = read(...)`: a call, not a value; `credentials::Helper`
    // is a path, not `credentials: value`.
    let b = text.as_bytes();
    let colon = groups.sep.as_ref().is_some_and(|s| &b[s.clone()] == b":");
    if let Some(sep) = &groups.sep {
        if colon
            && (b.get(sep.end) == Some(&b':') || b.get(sep.start.wrapping_sub(1)) == Some(&b':'))
        {
            return None;
        }
    }
    if bare
        && (matches!(b.get(secret.end), Some(b'(' | b'<' | b'?'))
            || b.get(secret.end.wrapping_sub(1)) == Some(&b'!'))
    {
        return None;
    }
    if cut_short(text, secret.end) {
        return None;
    }
    let spaced = secret.start > 0 && matches!(b[secret.start - 1], b' ' | b'\t');
    assigned_value_is_secret(key, slice(text, &secret), bare, colon, spaced).then_some(secret)
}

/// A bare value of a config-file line (`password = ...` in an INI section, `db.password=...` in
/// a properties file): the key starts the line and the value is the rest of it, symbols
/// included, so no part of a password survives past a `&`, `(` or `;` in it.
/// Lines that read as code are left to the usual rules: a value with blanks or quotes in it, or
/// ending like a statement or a call (`;`, `)`, `{`, `,`).
fn config_line_value(text: &str, groups: &Groups, secret: Range<usize>) -> Range<usize> {
    let Some(key) = &groups.key else {
        return secret;
    };
    let b = text.as_bytes();
    // Only blanks between the line start and the key (looked at backwards from the key, so a
    // long line costs nothing).
    let blanks = b[..key.start]
        .iter()
        .rev()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    let before = key.start - blanks;
    if before > 0 && b[before - 1] != b'\n' {
        return secret;
    }
    // The line's end, within the longest value a rule takes.
    let window = &b[secret.end..b.len().min(secret.end + 1024)];
    let Some(line_end) = window
        .iter()
        .position(|&c| c == b'\n')
        .map(|i| secret.end + i)
        .or((window.len() == b.len() - secret.end).then_some(b.len()))
    else {
        return secret;
    };
    let mut end = line_end;
    while end > secret.end && matches!(b[end - 1], b' ' | b'\t' | b'\r') {
        end -= 1;
    }
    let rest = &b[secret.end..end];
    if rest.is_empty()
        || rest
            .iter()
            .any(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`' | b'\\'))
        || matches!(b[end - 1], b';' | b')' | b'{' | b'}' | b'[' | b'(' | b',')
    {
        return secret;
    }
    secret.start..end
}

/// True when `value`, assigned to `key`, is taken as a secret: the key names one
/// ([`key_names_secret`]); quoted literals of 4+ characters, bare values of 6+; never
/// placeholders, paths, URLs (their credentials have a rule of their own), labelled hashes,
/// prose (whitespace), short numbers, fakes (`sk-fake`), or, for bare values, code references.
/// `colon` is true for the `key: value` form, where a plain bare word shorter than 12 letters is
/// code or prose (`password: String`, `token: required`); `spaced` is true when blanks surround
/// the separator, where a bare identifier is code (`let secret = compiled`).
pub fn assigned_value_is_secret(
    key: &str,
    value: &str,
    bare: bool,
    colon: bool,
    spaced: bool,
) -> bool {
    if !key_names_secret(key) {
        return false;
    }
    // Numbers, versions, times and `line:column` pairs; a long number is a numeric secret,
    // though (a numeric client secret of 16 digits or more).
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    if value
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b':' | b'.' | b'-' | b'/'))
        && !(digits && value.len() >= 16)
    {
        return false;
    }
    let words = key_words(key);
    let strong: Vec<&String> = words.iter().filter(|w| is_strong_word(w)).collect();
    let only_weak = strong.iter().all(|w| WEAK.contains(&w.as_str()));
    if only_weak
        && !looks_random(value)
        && !(value.len() >= 8 && value.bytes().any(|b| b.is_ascii_digit()))
    {
        return false;
    }
    // A short word is no token, secret or key (`token: "error"`, `signing_key: "unused"`); a
    // password may be one, though.
    let password = strong
        .iter()
        .any(|w| w.contains("pass") || w.as_str() == "pwd");
    if !password
        && value.len() <= 10
        && value
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
    {
        return false;
    }
    // A token or key is made by a machine, ten characters at least (`ACCESS_KEY: Tk4rP9x2`
    // is typed by hand); a password, secret or credential may be chosen by a person.
    // The last word that names a secret says which (`authToken` is a token).
    let chosen = strong.last().is_some_and(|w| {
        w.contains("pass")
            || w.as_str() == "pwd"
            || w.ends_with("secret")
            || w.starts_with("cred")
            || w.as_str() == "auth"
    });
    // A token's prefix names its family only where a machine made the value: a password may
    // start with `dapi` by chance.
    if !chosen && (value.len() < 10 || breaks_family_shape(value)) {
        return false;
    }
    let min = if bare { 6 } else { 4 };
    if value.len() < min
        || is_placeholder(value)
        || is_path(value)
        || is_labelled_hash(value)
        || value.contains("://")
        || value.eq_ignore_ascii_case(key.trim_start_matches('-'))
        || value_spells_key(key, value)
        || is_versioned_name(value)
        || has_repeated_tail(value)
        || value.bytes().any(|b| b.is_ascii_whitespace())
        || (value.len() <= 6 && value.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if bare {
        if is_code_reference(value) {
            return false;
        }
        let plain_word = value
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_');
        if colon && plain_word && value.len() < 12 {
            return false;
        }
        if value.contains("::") {
            return false;
        }
        // `colon2_token: Colon2,`, `password: String`: a type or a variant after a colon.
        if colon && super::entropy::is_word(value) && !machine_made(value) {
            return false;
        }
        // `let secret = compiled;`: an identifier after a spaced `=` is code, where an env file
        // or a command line writes `KEY=value`.
        let identifier = value.as_bytes()[0].is_ascii_alphabetic()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if spaced && identifier && !value.bytes().any(|b| b.is_ascii_digit()) {
            return false;
        }
        // `https://x-access-token:<token>@host/...`: a URL's user and password, which the URL
        // rule narrows to the password.
        if colon && value.contains('@') {
            return false;
        }
        // `pass` alone is a weak key: `the redaction pass: built-in rules`.
        let words = key_words(key);
        let strong: Vec<&String> = words.iter().filter(|w| is_strong_word(w)).collect();
        if colon && !strong.is_empty() && strong.iter().all(|w| *w == "pass") {
            return false;
        }
    }
    let lower = value.to_ascii_lowercase();
    !["fake", "dummy", "sample", "mock"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A long random-looking value right after a secret-ish word.
fn check_entropy(text: &str, groups: &Groups, secret: Range<usize>) -> Option<Range<usize>> {
    // The whole key the keyword ends (`csrf-token`, `foreignKey`), not just the keyword on.
    let key = groups.key.clone().map_or("", |k| {
        let b = text.as_bytes();
        let mut start = k.start;
        while start > 0 && (b[start - 1].is_ascii_alphanumeric() || b"_.-".contains(&b[start - 1]))
        {
            start -= 1;
        }
        slice(text, &(start..k.end))
    });
    let words = key_words(key);
    if words
        .last()
        .is_some_and(|w| DESCRIBING.contains(&w.as_str()))
        || words.iter().any(|w| NOT_SECRET.contains(&w.as_str()))
        || value_spells_key(key, slice(text, &secret))
    {
        return None;
    }
    // `public key: age1...`, `ssh_public_key = ...`: published on purpose.
    let start = groups.key.as_ref().map_or(secret.start, |k| k.start);
    let before = text.get(start.saturating_sub(12)..start).unwrap_or("");
    if words.iter().any(|w| w.starts_with("pub"))
        || before.to_ascii_lowercase().contains("public")
        || before.to_ascii_lowercase().ends_with("pub")
    {
        return None;
    }
    let secret = trim_span(text, secret, b".-");
    let value = slice(text, &secret);
    (looks_random(value) && !breaks_family_shape(value) && !cut_short(text, secret.end))
        .then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_marker_safe() {
        let mut seen = std::collections::HashSet::new();
        for spec in BUILTIN {
            assert!(seen.insert(spec.id), "{} twice", spec.id);
            assert!(
                spec.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                spec.id
            );
            assert!(!spec.keywords.is_empty(), "{} has no keyword", spec.id);
        }
    }

    #[test]
    fn generic_rules_come_last() {
        let first_generic = BUILTIN.iter().position(|s| s.generic).unwrap();
        assert!(BUILTIN[first_generic..].iter().all(|s| s.generic));
    }

    #[test]
    fn keys_that_name_secrets() {
        for key in [
            "GITHUB_TOKEN",
            "password",
            "db.password",
            "x-api-key",
            "AccountKey",
            "client_secret",
            "SECRET_KEY_BASE",
            "aws_secret_access_key",
            "_authToken",
            "DB_PASS",
            "auth",
            "npm_auth",
            "PASSWORD1",
            "SessionToken",
            "--password",
        ] {
            assert!(key_names_secret(key), "{key} names a secret");
        }
        for key in [
            "token_type",
            "max_tokens",
            "tokens",
            "password_file",
            "private_key_id",
            "AccessKeyId",
            "PWD_OLD_path",
            "OLDPWD",
            "secretary",
            "auth_methods",
            "author",
            "GIT_ASKPASS",
            "password_stdin",
            "keyboard",
            "api_key_name",
        ] {
            assert!(!key_names_secret(key), "{key} does not name a secret");
        }
    }

    #[test]
    fn key_words_split_camel_and_separators() {
        assert_eq!(key_words("accessKeyId"), ["access", "key", "id"]);
        assert_eq!(key_words("ACCESS_KEY-ID"), ["access", "key", "id"]);
        assert_eq!(key_words("x-api-key"), ["x", "api", "key"]);
    }
}
