//! Generated redaction cases: every token family written in every syntax an agent prints
//! (config files, source code of several languages, makefiles, command lines), and near misses
//! that must stay. The unit tests require them all; the redaction benchmark reports recall and
//! false-positive rate on them next to its throughput.
//!
//! Deterministic: the same seed gives the same cases.

use super::Redactor;

/// One generated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The token family (`github-pat`, `numeric-client-secret`, ...), or the near miss's kind.
    pub family: &'static str,
    /// The syntax the secret is written in (`go-typed`, `make-shell`, ...).
    pub syntax: &'static str,
    /// The text, as a tool output would hold it.
    pub text: String,
    /// The secret in it; `None` for a near miss, which must come back unchanged.
    pub secret: Option<String>,
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn s(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| a[(self.next() % a.len() as u64) as usize] as char)
            .collect()
    }
}

const B62: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_DIGITS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";
const DIGITS: &str = "0123456789";
const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A token family: its name, the identifier it is assigned to, and how to make one.
type Family = (&'static str, &'static str, fn(&mut Rng) -> String);

fn families() -> Vec<Family> {
    vec![
        ("github-pat", "github", |r| format!("ghp_{}", r.s(B62, 36))),
        ("aws-access-key-id", "aws", |r| {
            format!("AKIA{}", r.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
        }),
        ("slack-bot", "slack", |r| {
            format!(
                "xoxb-{}-{}-{}",
                r.s(DIGITS, 12),
                r.s(DIGITS, 13),
                r.s(B62, 24)
            )
        }),
        ("stripe", "stripe", |r| format!("sk_live_{}", r.s(B62, 24))),
        ("anthropic", "anthropic", |r| {
            format!("sk-ant-api03-{}AA", r.s(B62, 93))
        }),
        ("openai", "openai", |r| format!("sk-proj-{}", r.s(B62, 48))),
        ("gitlab", "gitlab", |r| format!("glpat-{}", r.s(B62, 20))),
        ("openshift", "openshift", |r| {
            format!("sha256~{}", r.s(B62, 43))
        }),
        ("sourcegraph", "sourcegraph", |r| {
            format!("sgp_{}_{}", r.s(HEX, 16), r.s(HEX, 40))
        }),
        ("easypost", "easypost", |r| format!("EZAK{}", r.s(B62, 54))),
        ("vault-batch", "vault", |r| format!("hvb.{}", r.s(B62, 138))),
        ("onepassword-secret-key", "onepassword", |r| {
            format!(
                "A3-{}-{}-{}-{}-{}",
                r.s(UPPER_DIGITS, 6),
                r.s(UPPER_DIGITS, 11),
                r.s(UPPER_DIGITS, 5),
                r.s(UPPER_DIGITS, 5),
                r.s(UPPER_DIGITS, 5)
            )
        }),
        ("numeric-client-secret", "client", |r| {
            format!("{}{}", r.s("123456789", 1), r.s(DIGITS, 19))
        }),
        ("hex-secret", "service", |r| r.s(HEX, 32)),
        ("uuid-key", "heroku", |r| {
            format!(
                "{}-{}-{}-{}-{}",
                r.s(HEX, 8),
                r.s(HEX, 4),
                r.s(HEX, 4),
                r.s(HEX, 4),
                r.s(HEX, 12)
            )
        }),
        ("random-password", "db", |r| {
            format!("{}{}{}", r.s(B62, 10), r.s("!#%+", 1), r.s(DIGITS, 3))
        }),
        ("lowercase-token", "settings", |r| r.s(LOWER_DIGITS, 40)),
        // The shortest value a token or key is taken as: ten characters (a digit before a
        // lowercase letter, as in most generated values, so it reads as no identifier).
        ("ten-character-token", "short", |r| {
            format!("{}7k{}{}", r.s(B62, 4), r.s(B62, 2), r.s(DIGITS, 2))
        }),
        // Token families at the fewest characters a real one has.
        ("shortest-slack-user", "chat", |r| {
            format!(
                "xoxp-{}-{}-{}-{}",
                r.s(DIGITS, 10),
                r.s(DIGITS, 10),
                r.s(DIGITS, 10),
                r.s(HEX, 28)
            )
        }),
        ("shortest-github-fine-grained", "repo", |r| {
            format!("github_pat_{}", r.s(B62, 50))
        }),
    ]
}

/// The syntaxes: `{i}` is the identifier, `{I}` the same in upper case, `{s}` the secret.
const SYNTAXES: &[(&str, &str)] = &[
    ("ini-quoted", "{i}Token=\"{s}\""),
    ("ini-spaced", "{i}Token = \"{s}\""),
    ("ini-bare", "{i}Token={s}"),
    ("ini-bare-spaced", "{i}Token = {s}"),
    ("json", "{\n  \"{i}_token\": \"{s}\"\n}"),
    ("json-escaped", "{\"env\": \"{I}_TOKEN={s}\\nDEBUG=1\"}"),
    ("xml-element", "<{i}Token>{s}</{i}Token>"),
    ("xml-element-multiline", "<{i}Token>\n    {s}\n</{i}Token>"),
    ("yaml-bare", "{i}_token: {s}"),
    ("yaml-single", "{i}_token: '{s}'"),
    ("yaml-double", "{i}_token: \"{s}\""),
    ("csharp", "private string {i}Token = \"{s}\";"),
    ("go-typed", "var {i}Token string = \"{s}\""),
    ("go-short", "{i}Token := \"{s}\""),
    ("go-backtick", "{i}Token := `{s}`"),
    ("java", "final String {i}Token = \"{s}\";"),
    (
        "java-property",
        "System.setProperty(\"{I}_TOKEN\", \"{s}\");",
    ),
    ("kotlin", "val {i}Token = \"{s}\""),
    ("php-concat", "${i}Token .= \"{s}\";"),
    ("python-single", "{i}_token = '{s}'"),
    ("logstash", "  \"{i}Token\" => \"{s}\""),
    ("make-recursive", "{I}_TOKEN = {s}"),
    ("make-simple", "{I}_TOKEN := {s}"),
    ("make-shell", "{I}_TOKEN ::= \"{s}\""),
    ("make-evaluated", "{I}_TOKEN :::= \"{s}\""),
    ("make-conditional", "{I}_TOKEN ?= \"{s}\""),
    ("shell-export", "export {I}_TOKEN=\"{s}\""),
    ("nuget", "<add key=\"{i}Password\" value=\"{s}\" />"),
    ("cli-flag", "deploy --{i}-token {s} --verbose"),
    (
        "authorization",
        "curl -H \"Authorization: Bearer {s}\" https://api.internal/v1",
    ),
];

/// Near misses: texts that name a secret or look like a token, and are none.
fn near_misses(r: &mut Rng) -> Vec<(&'static str, String)> {
    vec![
        ("short-slack", "xoxb-12345-abcd234".to_owned()),
        (
            "short-anthropic",
            format!("sk-ant-api03-{}AA", r.s(B62, 40)),
        ),
        ("short-google", format!("AIza{}", r.s(B62, 20))),
        (
            "alphabet",
            "const keyChars = \"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\""
                .to_owned(),
        ),
        (
            "mask",
            format!(
                "\"token\": \"xoxp-{}-####################\"",
                r.s(DIGITS, 12)
            ),
        ),
        ("csrf", format!("csrf-token={}==", r.s(B62, 60))),
        (
            "authenticity",
            format!(
                "<input type=\"hidden\" name=\"authenticity_token\" value=\"{}\" />",
                r.s(B62, 40)
            ),
        ),
        (
            "foreign-key",
            format!("foreignKey={}{}", r.s(B62, 24), r.s(DIGITS, 4)),
        ),
        (
            "primary-key",
            format!("primaryKey=-{}{}", r.s(B62, 24), r.s(DIGITS, 4)),
        ),
        (
            "keyboard",
            format!("key_down_event={}{}", r.s(B62, 24), r.s(DIGITS, 4)),
        ),
        (
            "public-token",
            format!("publicToken = \"{}{}\"", r.s(B62, 30), r.s(DIGITS, 4)),
        ),
        (
            "name-again",
            "SN_id_Gost28147_89_None_KeyMeshing = \"id-Gost28147-89-None-KeyMeshing\"".to_owned(),
        ),
        (
            "curl-placeholder",
            "curl -u <user:password> https://test.com/endpoint".to_owned(),
        ),
        (
            "curl-test",
            "curl -i -u 'test:test' http://localhost:8080".to_owned(),
        ),
        ("repeated", format!("sntryu_{}", "a".repeat(64))),
        (
            "repeated-assigned",
            format!("API_KEY=\"glc_{}=\"", "1".repeat(40)),
        ),
        (
            "truncated",
            "export OP_SERVICE_ACCOUNT_TOKEN=ops_eyJzaWduSW5BZGRyZXNz...".to_owned(),
        ),
        (
            "versioned",
            "notes = \"Maven - io.jsonwebtoken:jjwt-jackson-0.11.2\"".to_owned(),
        ),
        (
            "compound-word",
            "minisat-master-keying:x64-uwp=fail".to_owned(),
        ),
        (
            "sum-variable",
            "sumOfExposures = sumOfExposures;".to_owned(),
        ),
        (
            "authorization-prose",
            "Authorization: required for every call".to_owned(),
        ),
        ("type-annotation", "var token string".to_owned()),
        ("sops", format!("db-password: ENC[AES256_GCM,data:{}==,iv:{}=,tag:{}==,type:str]", r.s(B62, 6), r.s(B62, 43), r.s(B62, 22))),
        ("configmap-after-secret", "kind: Secret\nmetadata:\n  name: s\n---\nkind: ConfigMap\ndata:\n  decodingStrategy: None\n".to_owned()),
        (
            "property",
            "System.setProperty(\"http.proxyHost\", \"proxy.internal\");".to_owned(),
        ),
        // Values that start like a token family and are shorter than any real one.
        (
            "family-too-short-slack",
            format!("\"slackToken\": \"xoxp-{}\"", r.s(DIGITS, 10)),
        ),
        (
            "family-too-short-slack-ids",
            format!(
                "SLACK_TOKEN=\"xoxp-{0}-{0}-{0}-{1}\"",
                r.s(DIGITS, 4),
                r.s(HEX, 32)
            ),
        ),
        (
            "family-too-short-github",
            format!("GITHUB_TOKEN=ghp_{}", r.s(B62, 20)),
        ),
        (
            "family-too-short-gitlab",
            format!("<gitlabToken>glpat-{}</gitlabToken>", r.s(B62, 12)),
        ),
        (
            "family-too-short-google",
            format!("google_api_key = \"AIza{}\"", r.s(B62, 20)),
        ),
        (
            "family-too-short-stripe",
            format!("paymentsToken := \"sk_live_{}\"", r.s(B62, 6)),
        ),
        (
            "family-too-short-anthropic",
            format!(
                "System.setProperty(\"ANTHROPIC_TOKEN\", \"sk-ant-api03-{}\");",
                r.s(B62, 20)
            ),
        ),
        (
            "family-odd-databricks",
            format!("DATABRICKS_TOKEN=dapi{}g{}", r.s(HEX, 20), r.s(HEX, 11)),
        ),
        // A token or key of fewer than ten characters is typed by hand.
        (
            "short-access-key",
            format!("SERVICE_ACCESS_KEY: {}{}", r.s(B62, 5), r.s(DIGITS, 3)),
        ),
        (
            "short-api-key",
            format!("\"apiKey\": \"{}{}\"", r.s(B62, 6), r.s(DIGITS, 2)),
        ),
        (
            "short-token",
            format!("authToken = '{}{}'", r.s(B62, 5), r.s(DIGITS, 4)),
        ),
        // A Secret's data value of four bytes or fewer (`yes` and a newline).
        (
            "tiny-secret-data",
            "apiVersion: v1\ndata:\n  flag: eWVzCg==\nkind: Secret\nmetadata:\n  name: flags\n"
                .to_owned(),
        ),
    ]
}

/// Every family in every syntax, then the near misses.
pub fn cases(seed: u64) -> Vec<Case> {
    let r = &mut Rng(seed);
    let mut out = Vec::new();
    for (family, ident, make) in families() {
        for (syntax, template) in SYNTAXES {
            let secret = make(r);
            let text = template
                .replace("{i}", ident)
                .replace("{I}", &ident.to_ascii_uppercase())
                .replace("{s}", &secret);
            out.push(Case {
                family,
                syntax,
                text,
                secret: Some(secret),
            });
        }
    }
    for (family, text) in near_misses(r) {
        out.push(Case {
            family,
            syntax: "near-miss",
            text,
            secret: None,
        });
    }
    out
}

/// What a redactor does to the cases.
#[derive(Debug, Default, Clone)]
pub struct Score {
    /// Cases holding a secret.
    pub secrets: usize,
    /// Of those, the ones whose secret is gone from the redacted text.
    pub removed: usize,
    /// Near misses.
    pub clean: usize,
    /// Of those, the ones the redactor changed.
    pub altered: usize,
    /// The cases that went wrong (a secret kept, a near miss changed).
    pub wrong: Vec<Case>,
}

/// Runs `redactor` over `cases`.
pub fn score(redactor: &Redactor, cases: &[Case]) -> Score {
    let mut s = Score::default();
    for case in cases {
        let mut found = Default::default();
        let out = redactor.redact_text(&case.text, &mut found);
        match &case.secret {
            Some(secret) => {
                s.secrets += 1;
                if out.as_deref().is_some_and(|o| !o.contains(secret.as_str())) {
                    s.removed += 1;
                } else {
                    s.wrong.push(case.clone());
                }
            }
            None => {
                s.clean += 1;
                if out.is_some() {
                    s.altered += 1;
                    s.wrong.push(case.clone());
                }
            }
        }
    }
    s
}
