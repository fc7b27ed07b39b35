//! Redaction: secrets never reach an object on the sessions refs, `show` is the input but for
//! the markers, clean text stays clean, and `scan`/`scrub` deal with saves made without it.
//!
//! The corpus is generated here: fake but format-valid secrets (each format's prefix, length and
//! alphabet) planted in the tool outputs an agent session really holds (`cat .env`, `env`,
//! `curl -v`, config and credential files, private keys, a pasted token), in an OpenCode export.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::{fixtures_dir, write_json, Repo, TestEnv, TOOLCALL};

/// A small deterministic generator (splitmix64).
struct Rng(u64);

const B62: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &str = "0123456789abcdef";
const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPPER_NUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BECH32: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

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

    /// A password-like value: letters and digits with a digit and a symbol in it.
    fn password(&mut self) -> String {
        format!(
            "{}{}!{}",
            self.s(B62, 9),
            self.s("0123456789", 2),
            self.s(B62, 3)
        )
    }

    fn uuid(&mut self) -> String {
        let h = self.s(HEX, 32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn base64(bytes: &[u8], alphabet: &str, pad: bool) -> String {
    let a = alphabet.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(a[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// Planted secrets: the format each belongs to, and its value.
#[derive(Default)]
struct Corpus {
    planted: Vec<(&'static str, String)>,
}

impl Corpus {
    fn plant(&mut self, format: &'static str, value: String) -> String {
        self.planted.push((format, value.clone()));
        value
    }

    /// The pieces of every secret to look for in stored bytes: each line of a multi-line value
    /// (real newlines or `\n` escapes), of 8 characters or more.
    fn needles(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        for (_, value) in &self.planted {
            for line in value.split('\n').flat_map(|l| l.split("\\n")) {
                if line.len() >= 8 {
                    out.insert(line.to_owned());
                }
            }
        }
        out.into_iter().collect()
    }

    fn formats(&self) -> BTreeSet<&'static str> {
        self.planted.iter().map(|(f, _)| *f).collect()
    }
}

fn pem(r: &mut Rng, corpus: &mut Corpus, format: &'static str, kind: &str, lines: usize) -> String {
    let body: Vec<String> = (0..lines).map(|_| r.s(B64, 64)).collect();
    let body = corpus.plant(format, body.join("\n"));
    format!("-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n")
}

/// Benign values that must come back untouched.
struct Benign {
    values: Vec<String>,
}

fn tool(id: &str, session: &str, n: usize, name: &str, input: Value, output: &str) -> Value {
    json!({
        "type": "tool",
        "tool": name,
        "callID": format!("call_zz{n}"),
        "state": {
            "status": "completed",
            "input": input,
            "output": output,
            "metadata": {"output": output, "exit": 0, "truncated": false},
            "title": name,
            "time": {"start": 1795313152627_i64 + n as i64, "end": 1795313153249_i64 + n as i64}
        },
        "id": format!("prt_zz{id}_{n}"),
        "sessionID": session,
        "messageID": format!("msg_zz{id}"),
    })
}

/// An OpenCode export (the toolcall example) with one assistant message per tool call, and a
/// user message holding `prompt`.
fn export_with(title: &str, prompt: &str, calls: Vec<(&str, Value, String)>) -> Value {
    let mut export = TOOLCALL.json();
    let session = export["info"]["id"].as_str().unwrap().to_owned();
    export["info"]["title"] = json!(title);
    let messages = export["messages"].as_array_mut().unwrap();
    messages.push(json!({
        "info": {"id": "msg_zzprompt", "sessionID": session, "role": "user",
                 "time": {"created": 1795313160000_i64}, "agent": "build",
                 "model": {"providerID": "fake", "modelID": "fake-model"}},
        "parts": [{"type": "text", "text": prompt, "id": "prt_zzprompt", "sessionID": session,
                   "messageID": "msg_zzprompt"}]
    }));
    for (n, (name, input, output)) in calls.into_iter().enumerate() {
        let id = format!("call{n:03}");
        messages.push(json!({
            "info": {"id": format!("msg_zz{id}"), "sessionID": session, "role": "assistant",
                     "parentID": "msg_zzprompt", "time": {"created": 1795313161000_i64 + n as i64},
                     "modelID": "fake-model", "providerID": "fake", "mode": "build"},
            "parts": [
                {"type": "step-start", "snapshot": "2462dcbaa57760c7ea5ba617fbb3010dc350cc95",
                 "id": format!("prt_zz{id}_s"), "sessionID": session, "messageID": format!("msg_zz{id}")},
                tool(&id, &session, n, name, input, &output),
            ]
        }));
    }
    export
}

/// The secret corpus: at least 60 secrets in at least 25 formats, in realistic tool outputs.
fn secret_export(r: &mut Rng, corpus: &mut Corpus, benign: &mut Benign) -> Value {
    let c = corpus;
    let uuid1 = r.uuid();
    let uuid2 = r.uuid();
    let sha1 = r.s(HEX, 40);
    let sha256 = r.s(HEX, 64);
    let integrity = format!("sha512-{}", base64(&r.bytes(64), B64, true));
    benign.values.extend([
        uuid1.clone(),
        uuid2.clone(),
        sha1.clone(),
        sha256.clone(),
        integrity.clone(),
    ]);

    let dotenv = format!(
        "# local development settings\nNODE_ENV=development\nPORT=3000\n\
         DATABASE_URL=postgres://app:{}@db.internal:5432/app\n\
         REDIS_URL=redis://:{}@cache.internal:6379/0\n\
         STRIPE_SECRET_KEY={}\nSTRIPE_TEST_KEY={}\nSENDGRID_API_KEY={}\nOPENAI_API_KEY={}\n\
         ANTHROPIC_API_KEY={}\nGITHUB_TOKEN={}\nSESSION_SECRET={}\nJWT_SIGNING_KEY={}\n\
         FEATURE_FLAGS=search,export\nBUILD_SHA={sha1}\n",
        c.plant("url-password", r.password()),
        c.plant("url-password", r.password()),
        c.plant("stripe-live-key", format!("sk_live_{}", r.s(B62, 99))),
        c.plant("stripe-test-key", format!("sk_test_{}", r.s(B62, 24))),
        c.plant(
            "sendgrid",
            format!("SG.{}.{}", r.s(B64URL, 22), r.s(B64URL, 43))
        ),
        c.plant(
            "openai-project-key",
            format!("sk-proj-{}", r.s(B64URL, 156))
        ),
        c.plant("anthropic", format!("sk-ant-api03-{}AA", r.s(B64URL, 93))),
        c.plant("github-pat", format!("ghp_{}", r.s(B62, 36))),
        c.plant(
            "env-secret",
            format!("{}{}", r.s(B62, 30), r.s("0123456789", 2))
        ),
        c.plant("env-secret", r.s(B64, 43)),
    );

    let env = format!(
        "SHELL=/bin/bash\nHOSTNAME=devbox\nPWD=/home/dev/project\nOLDPWD=/home/dev\nHOME=/home/dev\n\
         LANG=C.UTF-8\nTERM=xterm-256color\nTERM_SESSION_ID={uuid1}\n\
         SSH_AUTH_SOCK=/tmp/ssh-XXXXq8Fz2LmX/agent.1234\nGIT_ASKPASS=/usr/lib/git-core/git-askpass\n\
         LS_COLORS=rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35\nGIT_COMMIT={sha1}\n\
         AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nAWS_SESSION_TOKEN={}\n\
         GH_TOKEN={}\nNPM_TOKEN={}\nHF_TOKEN={}\nGROQ_API_KEY={}\nGOOGLE_API_KEY={}\n\
         SLACK_BOT_TOKEN={}\nDIGITALOCEAN_TOKEN={}\nVAULT_TOKEN={}\nTWILIO_API_KEY={}\n\
         PGPASSWORD={}\nMAX_TOKENS=4096\nPATH=/usr/local/bin:/usr/bin:/bin\n_=/usr/bin/env\n",
        c.plant("aws-access-key-id", format!("AKIA{}", r.s(B32, 16))),
        c.plant("aws-secret-access-key", r.s(B64, 40)),
        c.plant("aws-session-token", format!("IQoJb3JpZ2luX2Vj{}", r.s(B64, 300))),
        c.plant("github-oauth", format!("gho_{}", r.s(B62, 36))),
        c.plant("npm", format!("npm_{}", r.s(B62, 36))),
        c.plant("huggingface", format!("hf_{}", r.s(LETTERS, 34))),
        c.plant("groq", format!("gsk_{}", r.s(B62, 52))),
        c.plant("google-api-key", format!("AIza{}", r.s(B62, 35))),
        c.plant(
            "slack-bot-token",
            format!("xoxb-{}-{}-{}", r.s("123456789", 12), r.s("123456789", 13), r.s(B62, 24))
        ),
        c.plant("digitalocean", format!("dop_v1_{}", r.s(HEX, 64))),
        c.plant("vault", format!("hvs.{}", r.s(B64URL, 90))),
        c.plant("twilio", format!("SK{}", r.s(HEX, 32))),
        c.plant("env-password", r.password()),
    );

    let bearer = c.plant("bearer-token", r.s(B62, 40));
    let header = base64(br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#, B64URL, false);
    let jwt = |r: &mut Rng| {
        let payload = base64(
            format!(
                r#"{{"sub":"{}","iat":1700000000,"exp":1700003600}}"#,
                r.s("0123456789", 8)
            )
            .as_bytes(),
            B64URL,
            false,
        );
        format!("{header}.{payload}.{}", r.s(B64URL, 86))
    };
    let cookie_jwt = c.plant("jwt", jwt(r));
    let access_jwt = c.plant("jwt", jwt(r));
    let refresh = c.plant("github-refresh", format!("ghr_{}", r.s(B62, 76)));
    let curl_command =
        format!("curl -v -H \"Authorization: Bearer {bearer}\" https://api.example.net/v1/me");
    let curl_output = format!(
        "*   Trying 203.0.113.7:443...\n* Connected to api.example.net (203.0.113.7) port 443\n\
         > GET /v1/me HTTP/2\n> Host: api.example.net\n> User-Agent: curl/8.5.0\n> Accept: */*\n\
         > Authorization: Bearer {bearer}\n>\n< HTTP/2 200\n< content-type: application/json\n\
         < set-cookie: session={cookie_jwt}; Path=/; HttpOnly\n< x-request-id: {uuid2}\n<\n\
         {{\"id\":\"{uuid2}\",\"login\":\"dev\",\"token\":{{\"access_token\":\"{access_jwt}\",\
         \"refresh_token\":\"{refresh}\",\"token_type\":\"bearer\",\"expires_in\":3600}}}}\n"
    );
    let basic_password = c.plant("curl-user-password", r.password());
    let basic = c.plant(
        "basic-auth-header",
        base64(format!("admin:{basic_password}").as_bytes(), B64, true),
    );
    let curl_basic_command =
        format!("curl -v -u admin:{basic_password} https://ci.example.net/api/json");
    let curl_basic_output = format!(
        "> GET /api/json HTTP/1.1\n> Host: ci.example.net\n> Authorization: Basic {basic}\n>\n\
         < HTTP/1.1 200 OK\n<\n{{\"jobs\":[{{\"name\":\"build\",\"lastBuild\":\"{sha1}\"}}]}}\n"
    );

    let aws_credentials = format!(
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[ci]\naws_access_key_id = {}\n\
         aws_secret_access_key = {}\nregion = eu-west-1\n",
        c.plant("aws-access-key-id", format!("AKIA{}", r.s(B32, 16))),
        c.plant("aws-secret-access-key", r.s(B64, 40)),
        c.plant("aws-access-key-id", format!("ASIA{}", r.s(B32, 16))),
        c.plant("aws-secret-access-key", r.s(B64, 40)),
    );

    let gcp_body: Vec<String> = (0..12).map(|_| r.s(B64, 64)).collect();
    let gcp_body = c.plant("gcp-service-account-key", gcp_body.join("\\n"));
    let gcp_key_id = r.s(HEX, 40);
    benign.values.push(gcp_key_id.clone());
    let service_account = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-prod\",\n  \"private_key_id\": \"{gcp_key_id}\",\n  \
         \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{gcp_body}\\n-----END PRIVATE KEY-----\\n\",\n  \
         \"client_email\": \"ci@demo-prod.iam.gserviceaccount.com\",\n  \"client_id\": \"104712345678901234567\",\n  \
         \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}\n"
    );

    let salt = c.plant("high-entropy-salt", format!("{}7Q", r.s(B62, 30)));
    let config_yaml = format!(
        "database:\n  host: db.internal\n  user: app\n  password: \"{}\"\n\
         mssql: \"Server=tcp:sql.internal,1433;Database=app;User ID=app;Password={};Encrypt=True;\"\n\
         azure:\n  storage: \"DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey={};EndpointSuffix=core.windows.net\"\n\
         slack:\n  webhook: https://hooks.slack.com/services/{}\n\
         sendgrid:\n  api_key: {}\n\
         oauth:\n  client_id: 1234567890-abc.apps.googleusercontent.com\n  client_secret: \"{}\"\n\
         cache:\n  key_prefix: app\n  salt: \"{salt}\"\n  integrity: {integrity}\n  checksum: {sha256}\n",
        c.plant("yaml-password", r.password()),
        c.plant("connection-string-password", r.password()),
        c.plant("azure-storage-key", format!("{}==", r.s(B64, 86))),
        c.plant(
            "slack-webhook",
            format!("T{}/B{}/{}", r.s(UPPER_NUM, 8), r.s(UPPER_NUM, 10), r.s(B62, 24))
        ),
        c.plant("sendgrid", format!("SG.{}.{}", r.s(B64URL, 22), r.s(B64URL, 43))),
        c.plant("oauth-client-secret", format!("GOCSPX-{}", r.s(B64URL, 28))),
    );

    let ssh_key = pem(r, c, "openssh-private-key", "OPENSSH PRIVATE KEY", 7);
    let rsa_key = pem(r, c, "rsa-private-key", "RSA PRIVATE KEY", 25);
    let ec_key = pem(r, c, "ec-private-key", "EC PRIVATE KEY", 3);
    let age_key = format!(
        "# created: 2026-01-01T00:00:00Z\n# public key: age1{}\n{}\n",
        r.s("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58),
        c.plant(
            "age-secret-key",
            format!("AGE-SECRET-KEY-1{}", r.s(BECH32, 58))
        )
    );
    let registries = format!(
        "==> ~/.npmrc <==\n//registry.npmjs.org/:_authToken={}\n\n==> ~/.pypirc <==\n[pypi]\n  username = __token__\n  password = {}\n\n\
         ==> ~/.cargo/credentials.toml <==\n[registry]\ntoken = \"{}\"\n\n==> ~/.docker/config.json <==\n\
         {{\"auths\": {{\"https://index.docker.io/v1/\": {{\"auth\": \"{}\"}}}}}}\n",
        c.plant("npm", format!("npm_{}", r.s(B62, 36))),
        c.plant("pypi", format!("pypi-AgEIcHlwaS5vcmc{}", r.s(B64URL, 120))),
        c.plant("crates-io", format!("cio{}", r.s(B62, 32))),
        c.plant("docker-auth", base64(format!("dev:{}", r.password()).as_bytes(), B64, true)),
    );
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: {}\n",
        c.plant("jwt", jwt(r))
    );

    let gitlab = c.plant("gitlab-pat", format!("glpat-{}", r.s(B64URL, 20)));
    let fine_grained = c.plant(
        "github-fine-grained-pat",
        format!("github_pat_{}_{}", r.s(B62, 22), r.s(B62, 59)),
    );
    let mysql_password = c.plant("mysql-password", r.password());
    let telegram = c.plant(
        "telegram-bot-token",
        format!("{}:AA{}", r.s("123456789", 9), r.s(B64URL, 33)),
    );
    let prompt = format!(
        "My deploy token is {gitlab} and the fine-grained one is {fine_grained}; the bot uses \
         {telegram}. Connect with `mysql -h db.internal -u root -p{mysql_password} app` and fix the \
         migration in commit {sha1}."
    );
    let ghs = c.plant("github-app-token", format!("ghs_{}", r.s(B62, 36)));
    let dckr = c.plant("dockerhub", format!("dckr_pat_{}", r.s(B64URL, 27)));
    let psql_password = c.plant("url-password", r.password());
    let clone_command = format!(
        "git clone https://x-access-token:{ghs}@github.com/org/repo.git && echo {dckr} | docker login -u dev --password-stdin \
         && psql \"postgresql://app:{psql_password}@localhost/app\" -c 'select 1'"
    );
    let signature = c.plant("high-entropy-signature", format!("{}x4", r.s(B64, 42)));
    let webhook_log = format!(
        "POST /hooks/github 200 12ms\nheaders: X-Hub-Signature-256: sha256={sha256}\n\
         verified with webhook signature: {signature}\nrequest id {uuid1}\n"
    );
    let anthropic2 = c.plant("anthropic", format!("sk-ant-api03-{}AA", r.s(B64URL, 93)));
    let write_input = json!({
        "filePath": "/home/dev/project/config/secrets.json",
        "content": json!({"api_key": anthropic2, "region": "eu", "request_id": uuid2}).to_string(),
    });
    let title = format!(
        "Rotate the leaked key {}",
        c.plant("github-pat", format!("ghp_{}", r.s(B62, 36)))
    );

    let production = format!(
        "# deploy/.env.production\nSTRIPE_RESTRICTED={}\nMAILCHIMP_KEY={}\nSHOPIFY_ADMIN={}\n\
         DOPPLER={}\nLINEAR={}\nPOSTMAN={}\nDATABRICKS_HOST=https://adb-1234.azuredatabricks.net\n\
         DATABRICKS={}\nNEW_RELIC={}\nSUPABASE={}\nPLANETSCALE={}\nREPLICATE={}\nPPLX={}\n\
         XAI={}\nOPENROUTER={}\nJIRA={}\nBITBUCKET_APP={}\nRUNNER_REGISTRATION={}\n\
         AZURE_CLIENT_ID={uuid1}\nAZURE_CLIENT_SECRET={}\n\
         BLOB_URL=https://prodstore.blob.core.windows.net/exports/a.csv?sv=2022-11-02&sp=r&se=2030-01-01&sig={}\n\
         DISCORD_HOOK=https://discord.com/api/webhooks/123456789012345678/{}\n",
        c.plant("stripe-restricted-key", format!("rk_live_{}", r.s(B62, 40))),
        c.plant("mailchimp", format!("{}-us14", r.s(HEX, 32))),
        c.plant("shopify", format!("shpat_{}", r.s(HEX, 32))),
        c.plant("doppler", format!("dp.pt.{}", r.s(B62, 43))),
        c.plant("linear", format!("lin_api_{}", r.s(B62, 40))),
        c.plant("postman", format!("PMAK-{}-{}", r.s(HEX, 24), r.s(HEX, 34))),
        c.plant("databricks", format!("dapi{}", r.s(HEX, 32))),
        c.plant("new-relic", format!("NRAK-{}", r.s(UPPER_NUM, 27))),
        c.plant("supabase", format!("sbp_{}", r.s(HEX, 40))),
        c.plant("planetscale", format!("pscale_tkn_{}", r.s(B64URL, 43))),
        c.plant("replicate", format!("r8_{}", r.s(B62, 37))),
        c.plant("perplexity", format!("pplx-{}", r.s(B62, 48))),
        c.plant("xai", format!("xai-{}", r.s(B62, 80))),
        c.plant("openrouter", format!("sk-or-v1-{}", r.s(HEX, 64))),
        c.plant("atlassian", format!("ATATT3{}", r.s(B64URL, 186))),
        c.plant("bitbucket-app-password", format!("ATBB{}", r.s(B62, 32))),
        c.plant("gitlab-runner-token", format!("GR1348941{}", r.s(B64URL, 20))),
        c.plant(
            "azure-ad-client-secret",
            format!("{}8Q~{}", r.s(B62, 3), r.s(B62, 34))
        ),
        c.plant("azure-sas-signature", format!("{}%3D", r.s(B62, 43))),
        c.plant("discord-webhook", r.s(B64URL, 68)),
    );
    let bash = |command: String| json!({"command": command, "description": "run command"});
    let read = |path: &str| json!({"filePath": path});
    export_with(
        &title,
        &prompt,
        vec![
            ("bash", bash("cat .env".into()), dotenv),
            (
                "bash",
                bash("cat deploy/.env.production".into()),
                production,
            ),
            ("bash", bash("env".into()), env),
            ("bash", bash(curl_command), curl_output),
            ("bash", bash(curl_basic_command), curl_basic_output),
            ("read", read("/home/dev/.aws/credentials"), aws_credentials),
            (
                "read",
                read("/home/dev/project/service-account.json"),
                service_account,
            ),
            (
                "read",
                read("/home/dev/project/config/production.yaml"),
                config_yaml,
            ),
            ("bash", bash("cat ~/.ssh/id_ed25519".into()), ssh_key),
            ("bash", bash("cat ~/.ssh/id_rsa".into()), rsa_key),
            ("read", read("/home/dev/project/certs/ec.pem"), ec_key),
            (
                "bash",
                bash("cat ~/.config/sops/age/keys.txt".into()),
                age_key,
            ),
            (
                "bash",
                bash(
                    "tail -n +1 ~/.npmrc ~/.pypirc ~/.cargo/credentials.toml ~/.docker/config.json"
                        .into(),
                ),
                registries,
            ),
            ("read", read("/home/dev/.kube/config"), kubeconfig),
            (
                "bash",
                bash(clone_command),
                "Cloning into 'repo'...\nLogin Succeeded\n ?column? \n----------\n        1\n"
                    .into(),
            ),
            ("bash", bash("tail logs/webhooks.log".into()), webhook_log),
            ("write", write_input, "Wrote file successfully.".into()),
        ],
    )
}

/// Every object reachable from any ref, decompressed and concatenated, with the object count.
fn all_object_bytes(repo: &Repo<'_>) -> (usize, Vec<u8>) {
    let objects = repo.reachable_objects("--all");
    let count = objects.len();
    (
        count,
        objects
            .into_iter()
            .flat_map(|(_, _, content)| content)
            .collect(),
    )
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w == n)
}

/// The markers in `shown` and the text of `input` each stands for; `None` when the text around
/// the markers is not `input`'s.
fn replaced_spans(input: &str, shown: &str) -> Option<Vec<(String, String)>> {
    let marker = regex::Regex::new(r"\[REDACTED:[a-z0-9._-]+\]").unwrap();
    let mut pieces = Vec::new();
    let mut markers = Vec::new();
    let mut last = 0;
    for m in marker.find_iter(shown) {
        pieces.push(&shown[last..m.start()]);
        markers.push(m.as_str().to_owned());
        last = m.end();
    }
    pieces.push(&shown[last..]);
    let mut pos = input.strip_prefix(pieces[0]).map(|_| pieces[0].len())?;
    let mut out = Vec::new();
    for (i, marker) in markers.into_iter().enumerate() {
        let next = pieces[i + 1];
        if input[pos..].starts_with(&format!("{marker}{next}")) {
            // A marker the input already had (this project's own sources mention some).
            pos += marker.len() + next.len();
            continue;
        }
        let end = if i + 2 == pieces.len() {
            // The last piece ends the input.
            input
                .len()
                .checked_sub(next.len())
                .filter(|&e| e >= pos && input.ends_with(next))?
        } else {
            pos + 1 + input.get(pos + 1..)?.find(next)?
        };
        out.push((marker, input[pos..end].to_owned()));
        pos = end + next.len();
    }
    (pos == input.len()).then_some(out)
}

/// Compares `shown` with `input`: equal structure, keys and non-string values; strings equal
/// or equal but for markers. Collects what each marker replaced.
fn compare(input: &Value, shown: &Value, path: &str, replaced: &mut Vec<(String, String, String)>) {
    match (input, shown) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            assert_eq!(ka, kb, "keys differ at {path}");
            for (k, v) in a {
                compare(v, &b[k], &format!("{path}.{k}"), replaced);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "lengths differ at {path}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(x, y, &format!("{path}[{i}]"), replaced);
            }
        }
        (Value::String(a), Value::String(b)) if a != b => {
            let spans = replaced_spans(a, b).unwrap_or_else(|| {
                panic!("{path}: the text around the markers changed:\n{a}\n---\n{b}")
            });
            for (marker, text) in spans {
                replaced.push((path.to_owned(), marker, text));
            }
        }
        _ => assert_eq!(input, shown, "{path} changed"),
    }
}

fn redactions(report: &Value) -> BTreeMap<String, u64> {
    report["saves"][0]["redactions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn no_planted_secret_reaches_any_object_and_show_differs_only_at_the_markers() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let mut corpus = Corpus::default();
    let mut benign = Benign { values: Vec::new() };
    let export = secret_export(&mut Rng(2026), &mut corpus, &mut benign);
    let formats = corpus.formats();
    println!(
        "corpus: {} planted secrets in {} formats",
        corpus.planted.len(),
        formats.len()
    );
    assert!(
        corpus.planted.len() >= 60,
        "{} planted",
        corpus.planted.len()
    );
    assert!(formats.len() >= 25, "{} formats", formats.len());

    let file = env.path("leaky.json");
    write_json(&file, &export);
    let saved = repo
        .git_session(&["save", "--from", &file.display().to_string(), "--json"])
        .success();
    let report = saved.json();
    let needles = corpus.needles();
    for needle in &needles {
        assert!(
            !saved.stdout.contains(needle.as_str()) && !saved.stderr.contains(needle.as_str()),
            "the save report shows a secret: {needle}\n{saved}"
        );
    }
    let counted = redactions(&report);
    let total: u64 = counted.values().sum();
    println!(
        "save report: {total} secrets redacted by {} rules: {counted:?}",
        counted.len()
    );
    assert!(
        total >= corpus.planted.len() as u64,
        "the report counts every secret (outputs are stored twice): {counted:?}"
    );
    assert!(counted.len() >= 20, "{counted:?}");

    // Every object reachable from any ref, decompressed: no secret, whole or by line.
    let (objects, bytes) = all_object_bytes(&repo);
    let leaked: Vec<&String> = needles.iter().filter(|n| contains(&bytes, n)).collect();
    assert!(
        leaked.is_empty(),
        "{} of {} secret pieces found in {objects} objects ({} bytes): {leaked:?}",
        leaked.len(),
        needles.len(),
        bytes.len()
    );
    assert!(contains(&bytes, "[REDACTED:github-pat]"));

    // show: the input, but for the markers; each marker stands for a planted secret.
    let shown = repo.show(TOOLCALL.id, None);
    let mut replaced = Vec::new();
    compare(&export, &shown, "", &mut replaced);
    for (path, marker, text) in &replaced {
        let secret = corpus.planted.iter().find(|(_, v)| {
            text.contains(v.as_str()) || v.contains(text.as_str()) && text.len() >= 8
        });
        let (_, value) = secret.unwrap_or_else(|| {
            panic!("{path}: {marker} replaced {text:?}, which is no planted secret")
        });
        assert!(
            text.len() <= value.len() + 16,
            "{path}: {marker} replaced more than the secret: {text:?}"
        );
    }
    let shown_text = shown.to_string();
    for value in &benign.values {
        assert!(
            shown_text.contains(value.as_str()),
            "{value} must come back untouched"
        );
    }
    for kept in [
        "PWD=/home/dev/project",
        "MAX_TOKENS=4096",
        "token_type",
        "aws_access_key_id = ",
    ] {
        assert!(shown_text.contains(kept), "{kept} must come back");
    }
    assert_eq!(
        shown["info"]["title"].as_str().unwrap(),
        "Rotate the leaked key [REDACTED:github-pat]"
    );
    let subject = repo.git(&["log", "-1", "--format=%s", &TOOLCALL.ref_name()]);
    assert_eq!(
        subject.trim(),
        "Rotate the leaked key [REDACTED:github-pat]"
    );
    repo.assert_fsck_clean();

    // Saving the same input again: unchanged (the cache, keyed by the rules, gives the same
    // tree), still with the redaction count.
    let again = repo
        .git_session(&["save", "--from", &file.display().to_string(), "--json"])
        .success()
        .json();
    assert_eq!(again["saves"][0]["status"], "unchanged");
    assert_eq!(redactions(&again), counted);
}

/// A PNG image of random pixels (stored deflate blocks), so its base64 is as random as it gets.
fn png(r: &mut Rng, width: u32, height: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0);
        raw.extend(r.bytes(width as usize * 4));
    }
    let mut zlib = vec![0x78, 0x01];
    for (i, block) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        zlib.push(u8::from(last));
        zlib.extend_from_slice(&(block.len() as u16).to_le_bytes());
        zlib.extend_from_slice(&(!(block.len() as u16)).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn a_clean_corpus_keeps_its_hashes_uuids_and_commit_ids() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    for n in 0..12 {
        std::fs::write(repo.dir.join("notes.txt"), format!("note {n}\n")).unwrap();
        repo.git(&["add", "notes.txt"]);
        repo.git(&["commit", "--quiet", "-m", &format!("Note {n}")]);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in [root.join("src"), fixtures_dir()] {
        for entry in walk(&dir) {
            files.push(entry);
        }
    }
    files.push(root.join("Cargo.lock"));
    files.sort();

    let r = &mut Rng(99);
    let mut protected: Vec<String> = Vec::new();
    let uuids: Vec<String> = (0..200).map(|_| r.uuid()).collect();
    let shas: Vec<String> = (0..100).map(|_| r.s(HEX, 40)).collect();
    let sha256s: Vec<String> = (0..50).map(|_| r.s(HEX, 64)).collect();
    let integrities: Vec<String> = (0..50)
        .map(|_| format!("sha512-{}", base64(&r.bytes(64), B64, true)))
        .collect();
    let git_log = repo.git(&["log", "--format=commit %H%ntree %T%nparent %P%n%n    %s%n"]);
    let commit_ids: Vec<String> = repo
        .git(&["rev-list", "--all"])
        .lines()
        .map(str::to_owned)
        .collect();
    let data_url = format!(
        "data:image/png;base64,{}",
        base64(&png(r, 96, 96), B64, true)
    );
    protected.extend(uuids.iter().cloned());
    protected.extend(shas.iter().cloned());
    protected.extend(sha256s.iter().cloned());
    protected.extend(integrities.iter().cloned());
    protected.extend(commit_ids.iter().cloned());
    protected.push(data_url.clone());

    let mut calls: Vec<(&str, Value, String)> = Vec::new();
    let mut bytes = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        bytes += text.len();
        let path = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        calls.push(("read", json!({"filePath": path}), text));
    }
    let listing = |values: &[String], key: &str| -> String {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{{\"{key}\": \"{v}\", \"n\": {i}}}\n"))
            .collect()
    };
    calls.push((
        "bash",
        json!({"command": "psql -c 'select id from sessions'"}),
        listing(&uuids, "id"),
    ));
    calls.push((
        "bash",
        json!({"command": "sha1sum *"}),
        shas.iter().map(|s| format!("{s}  file\n")).collect(),
    ));
    calls.push((
        "bash",
        json!({"command": "sha256sum dist/*"}),
        sha256s.iter().map(|s| format!("{s}  dist/app\n")).collect(),
    ));
    calls.push((
        "read",
        json!({"filePath": "package-lock.json"}),
        listing(&integrities, "integrity"),
    ));
    calls.push(("bash", json!({"command": "git log --format=raw"}), git_log));
    calls.push((
        "read",
        json!({"filePath": "docs/logo.html"}),
        format!("<img alt=\"logo\" src=\"{data_url}\">\n"),
    ));
    let export = export_with("Read the project", "Read every file and summarise.", calls);
    let file = env.path("clean.json");
    write_json(&file, &export);
    let saved = repo
        .git_session(&["save", "--from", &file.display().to_string(), "--json"])
        .success();
    let counted = redactions(&saved.json());

    let shown = repo.show(TOOLCALL.id, None);
    let mut replaced = Vec::new();
    compare(&export, &shown, "", &mut replaced);
    println!(
        "false positives: {} in {} files ({} KiB) plus {} UUIDs, {} SHA-1, {} SHA-256, {} integrity hashes, {} commit ids and a {} KiB PNG data URL",
        replaced.len(),
        files.len(),
        bytes / 1024,
        uuids.len(),
        shas.len(),
        sha256s.len(),
        integrities.len(),
        commit_ids.len(),
        data_url.len() / 1024
    );
    for (path, marker, text) in &replaced {
        println!("  {marker} replaced {text:?} at {path}");
    }
    let text = shown.to_string();
    for value in &protected {
        assert!(text.contains(value.as_str()), "{:.80} was changed", value);
    }
    for (_, _, replaced_text) in &replaced {
        assert!(
            !protected
                .iter()
                .any(|p| replaced_text.contains(p.as_str()) || p.contains(replaced_text.as_str())),
            "a hash, UUID or commit id was redacted: {replaced_text}"
        );
    }
    assert_eq!(
        counted.values().sum::<u64>() as usize,
        replaced.len(),
        "the report counts what show lost: {counted:?}"
    );
    // A regression guard, not a target: the clean corpus had none when this was written.
    assert!(replaced.len() <= 10, "{} false positives", replaced.len());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn scan_finds_what_no_redact_stored_and_scrub_removes_it() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let remote = env.bare_repo("remote.git");
    repo.git(&["remote", "add", "origin", &remote.dir.display().to_string()]);
    let r = &mut Rng(7);
    let token = format!("ghp_{}", r.s(B62, 36));
    let aws = format!("AKIA{}", r.s(B32, 16));

    // A first save, redacted; a second one made without redaction.
    let first = env.path("first.json");
    write_json(
        &first,
        &export_with(
            "Clean title",
            "hello",
            vec![("bash", json!({"command": "ls"}), "README.md\n".into())],
        ),
    );
    repo.save(&[&first]);
    let scan = repo.git_session(&["scan"]).success();
    assert!(
        scan.stderr
            .contains("No secrets found in 1 save of 1 session"),
        "{scan}"
    );

    let leaky = env.path("leaky.json");
    let output = format!("GITHUB_TOKEN={token}\nAWS_ACCESS_KEY_ID={aws}\n");
    write_json(
        &leaky,
        &export_with(
            "Clean title",
            "hello",
            vec![("bash", json!({"command": "env"}), output)],
        ),
    );
    let saved = repo
        .git_session(&[
            "save",
            "--no-redact",
            "--from",
            &leaky.display().to_string(),
        ])
        .success();
    assert!(saved.stderr.contains("warning: --no-redact"), "{saved}");
    assert!(
        contains(&all_object_bytes(&repo).1, &token),
        "stored as it is"
    );
    let pushed = repo.git_session(&["push"]).success();
    assert!(!pushed.stderr.contains(&token), "{pushed}");

    let scan = repo.git_session(&["scan", "--json"]).failure();
    let report = scan.json();
    assert_eq!(report["clean"], false);
    let saves = report["sessions"][0]["saves"].as_array().unwrap();
    assert_eq!(saves.len(), 2);
    let newest = &saves[0];
    assert_eq!(
        newest["rules"]["github-pat"], 2,
        "output and metadata.output: {newest}"
    );
    assert_eq!(newest["rules"]["aws-access-key-id"], 2, "{newest}");
    assert_eq!(saves[1]["secrets"], 0);
    assert!(
        !scan.stdout.contains(&token) && !scan.stderr.contains(&token),
        "{scan}"
    );
    scan.single_error(&["found 4 secrets in 1 save of 1 session"]);
    let text = repo.git_session(&["scan"]).failure();
    assert!(text.stdout.contains("github-pat 2"), "{text}");
    assert!(
        text.hint_lines()
            .iter()
            .any(|h| h.contains("git session scrub")),
        "{text}"
    );

    let old_tip = repo.rev_parse(&TOOLCALL.ref_name()).unwrap();
    let scrub = repo.git_session(&["scrub", &TOOLCALL.id[..10]]).success();
    assert!(
        scrub.stderr.contains("1 of 2 saves held secrets"),
        "{scrub}"
    );
    assert!(
        scrub.stderr.contains(&format!(
            "git push --force-with-lease={}:{old_tip} origin {}",
            TOOLCALL.ref_name(),
            TOOLCALL.ref_name()
        )),
        "{scrub}"
    );
    assert!(!scrub.stderr.contains(&token), "{scrub}");
    let backups = repo.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/session-backups/",
    ]);
    assert!(
        backups.starts_with(&format!("refs/session-backups/opencode/{}/", TOOLCALL.id))
            && backups.trim().ends_with(&old_tip),
        "{backups}"
    );

    repo.git_session(&["scan"]).success();
    let shown = repo.show(TOOLCALL.id, None).to_string();
    assert!(!shown.contains(&token) && !shown.contains(&aws));
    assert!(shown.contains("GITHUB_TOKEN=[REDACTED:github-pat]"));
    assert_eq!(
        repo.commit_count(&TOOLCALL.ref_name()),
        2,
        "same number of saves"
    );
    let first_save = repo.git(&["rev-list", "--max-parents=0", &TOOLCALL.ref_name()]);
    let old_first = repo.git(&["rev-list", "--max-parents=0", &old_tip]);
    assert_eq!(
        first_save, old_first,
        "a save without secrets is kept as it was"
    );
    let (old_msg, new_msg) = (
        repo.git(&["log", "-1", "--format=%an <%ae> %at%n%B", &old_tip]),
        repo.git(&[
            "log",
            "-1",
            "--format=%an <%ae> %at%n%B",
            &TOOLCALL.ref_name(),
        ]),
    );
    assert_eq!(
        old_msg.lines().take(3).collect::<Vec<_>>(),
        new_msg.lines().take(3).collect::<Vec<_>>(),
        "same author, time and subject"
    );

    // The new history holds no secret; the backup is never pushed.
    let list = repo.git(&["rev-list", "--objects", "--glob=refs/sessions/*"]);
    let ids: Vec<&str> = list.lines().filter_map(|l| l.split(' ').next()).collect();
    let mut child = env
        .command("git")
        .current_dir(&repo.dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = ids.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut bytes = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    writer.join().unwrap().unwrap();
    child.wait().unwrap();
    assert!(
        !contains(&bytes, &token) && !contains(&bytes, &aws),
        "the scrubbed history still holds a secret"
    );
    let push = repo.git_session(&["push"]).code;
    assert_eq!(
        push,
        Some(1),
        "the rewritten ref is not a fast-forward: push refuses"
    );
    let remote_refs = remote.git(&["for-each-ref", "--format=%(refname)"]);
    assert!(!remote_refs.contains("session-backups"), "{remote_refs}");

    // Nothing left: scrub again changes nothing.
    let again = repo.git_session(&["scrub", TOOLCALL.id]).success();
    assert!(again.stderr.contains("Nothing to scrub"), "{again}");
    repo.assert_fsck_clean();
}

#[test]
fn settings_add_rules_keep_allowed_values_and_never_drop_an_invalid_rule() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let r = &mut Rng(11);
    let ticket = format!("ACME-{}", r.s("0123456789", 10));
    let token = format!("ghp_{}", r.s(B62, 36));
    let allowed = format!("ghp_{}", r.s(B62, 36));
    let output = format!("ticket key {ticket}\nGITHUB_TOKEN={token}\nCI_TOKEN={allowed}\n");
    let file = env.path("s.json");
    write_json(
        &file,
        &export_with("t", "p", vec![("bash", json!({"command": "env"}), output)]),
    );
    let from = file.display().to_string();

    repo.git(&[
        "config",
        "--add",
        "session.redactRule",
        "acme-key=ACME-[0-9]{10}",
    ]);
    repo.git(&[
        "config",
        "--add",
        "session.redactAllow",
        &format!("^{allowed}$"),
    ]);
    let saved = repo.git_session(&["save", "--from", &from]).success();
    assert!(saved.stderr.contains("acme-key 2"), "{saved}");
    let shown = repo.show(TOOLCALL.id, None).to_string();
    assert!(
        shown.contains("ticket key [REDACTED:acme-key]"),
        "user rule"
    );
    assert!(
        shown.contains("GITHUB_TOKEN=[REDACTED:github-pat]"),
        "built-in rules stay in force"
    );
    assert!(shown.contains(&allowed), "the allowlist keeps its match");

    repo.git(&["config", "--add", "session.redactRule", "broken=ACME-[0-9"]);
    let before = repo.refs();
    let failed = repo.git_session(&["save", "--from", &from]).failure();
    failed.single_error(&["session.redactRule", "broken=ACME-[0-9"]);
    assert_eq!(repo.refs(), before, "nothing written");
    repo.git(&["config", "--unset", "session.redactRule", "broken"]);

    repo.git(&["config", "session.redact", "false"]);
    let unredacted = repo.git_session(&["save", "--from", &from]).success();
    assert!(
        unredacted
            .stderr
            .contains("warning: session.redact is false"),
        "{unredacted}"
    );
    assert!(repo.show(TOOLCALL.id, None).to_string().contains(&token));
}

#[test]
fn a_new_rule_applies_to_messages_the_save_cache_already_knows() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let r = &mut Rng(12);
    let ticket = format!("ACME-{}", r.s("0123456789", 10));
    let output = format!("ticket key {ticket}\n");
    let file = env.path("s.json");
    write_json(
        &file,
        &export_with("t", "p", vec![("bash", json!({"command": "env"}), output)]),
    );
    let from = file.display().to_string();
    repo.git_session(&["save", "--from", &from]).success();
    assert!(repo.show(TOOLCALL.id, None).to_string().contains(&ticket));

    // Same input, one more rule: the cached messages are redacted again, not reused.
    repo.git(&[
        "config",
        "--add",
        "session.redactRule",
        "acme-key=ACME-[0-9]{10}",
    ]);
    let saved = repo
        .git_session(&["save", "--from", &from, "--json"])
        .success();
    assert_eq!(saved.json()["saves"][0]["status"], "saved", "{saved}");
    let shown = repo.show(TOOLCALL.id, None).to_string();
    assert!(!shown.contains(&ticket), "the new rule applies");
    assert!(shown.contains("ticket key [REDACTED:acme-key]"));

    // And back: --no-redact does not take the redacted messages from the cache.
    repo.git_session(&["save", "--no-redact", "--from", &from])
        .success();
    assert!(repo.show(TOOLCALL.id, None).to_string().contains(&ticket));
}

/// Credential files as an agent prints them after `cat` (issue 18): each format in several
/// variants, every secret planted and recorded under its format.
fn credential_files_export(r: &mut Rng, corpus: &mut Corpus, benign: &mut Benign) -> Value {
    let c = corpus;
    let host_user = |r: &mut Rng| format!("dev{}", r.s("0123456789", 3));

    // .netrc: one line per machine, and the multi-line layout with `default` last.
    let netrc_user = host_user(r);
    let netrc = format!(
        "machine api.heroku.com login {netrc_user}@example.net password {}\n\
         machine git.heroku.com login {netrc_user}@example.net password {}\n\
         machine ftp.example.net\n    login anonymous\n    password {}\n\
         default\n    login guest\n    account ops\n    password {}\n",
        c.plant("netrc", r.uuid()),
        c.plant("netrc", r.password()),
        c.plant("netrc", r.password()),
        c.plant(
            "netrc",
            format!("{}x{}", r.s(B62, 10), r.s("0123456789", 3))
        ),
    );
    benign
        .values
        .push(format!("login {netrc_user}@example.net"));

    // .pgpass: host:port:database:user:password, `\:` and `\\` escaped in the password.
    let pgpass = format!(
        "# hostname:port:database:username:password\n\
         db.internal:5432:app:app:{}\n\
         *:*:*:replicator:{}\n\
         localhost:6432:*:postgres:{}\n",
        c.plant("pgpass", format!("{}\\:{}", r.s(B62, 9), r.s(B62, 5))),
        c.plant("pgpass", format!("{}\\\\{}!", r.s(B62, 7), r.s(B62, 6))),
        c.plant("pgpass", r.password()),
    );

    // .git-credentials: the store helper's URLs, user names percent-encoded.
    let git_credentials = format!(
        "https://{}:{}@github.com\nhttps://oauth2:{}@gitlab.example.net\n\
         https://dev%40example.net:{}@bitbucket.org\n",
        host_user(r),
        c.plant("git-credentials", r.s(B62, 40)),
        c.plant("git-credentials", r.s(B64URL, 26)),
        c.plant(
            "git-credentials",
            format!("{}%21{}", r.s(B62, 10), r.s(B62, 4))
        ),
    );

    // XML: Maven's settings.xml (the value inline and on a line of its own) and NuGet.Config.
    let maven = format!(
        "<settings>\n  <servers>\n    <server>\n      <id>nexus</id>\n      <username>deploy</username>\n\
         \x20     <password>{}</password>\n    </server>\n    <server>\n      <id>central</id>\n\
         \x20     <password>\n        {}\n      </password>\n      <privateKey>${{user.home}}/.ssh/id_rsa</privateKey>\n\
         \x20     <passphrase>{}</passphrase>\n    </server>\n  </servers>\n</settings>\n",
        c.plant("xml-element", r.password()),
        c.plant("xml-element", format!("{}+{}", r.s(B64, 20), r.s("0123456789", 2))),
        c.plant("xml-element", r.password()),
    );
    let nuget = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n\
         \x20   <add key=\"internal\" value=\"https://nuget.example.net/v3/index.json\" />\n  </packageSources>\n\
         \x20 <packageSourceCredentials>\n    <internal>\n      <add key=\"Username\" value=\"ci\" />\n\
         \x20     <add key=\"ClearTextPassword\" value=\"{}\" />\n    </internal>\n    <github>\n\
         \x20     <add key='Password' value='{}' />\n    </github>\n  </packageSourceCredentials>\n</configuration>\n",
        c.plant("xml-attribute", r.password()),
        c.plant("xml-attribute", format!("ghp_{}", r.s(B62, 36))),
    );

    // INI sections and Java properties, values with the symbols passwords have.
    let ini = format!(
        "[client]\nuser = root\npassword = {}\n\n[mysqldump]\nuser=backup\npassword={}\n\n\
         [smtp]\nhost = mail.internal\npassword = {}\n",
        c.plant("ini", r.password()),
        c.plant("ini", format!("{}&{}", r.s(B62, 8), r.s("0123456789", 2))),
        c.plant(
            "ini",
            format!("{}({}){}", r.s(B62, 6), r.s(B62, 3), r.s("0123456789", 2))
        ),
    );
    let properties = format!(
        "db.url=jdbc:postgresql://db.internal:5432/app\ndb.username=app\ndb.password={}\n\
         spring.datasource.password = {}\nmail.smtp.password:{}\n",
        c.plant("properties", r.password()),
        c.plant(
            "properties",
            format!("{}&{}", r.s(B62, 7), r.s("0123456789", 3))
        ),
        c.plant("properties", r.password()),
    );

    // kubeconfig: certificates are public, the client key and the tokens are not.
    let pem_b64 = |r: &mut Rng, kind: &str| {
        let body: Vec<String> = (0..8).map(|_| r.s(B64, 64)).collect();
        let pem = format!(
            "-----BEGIN {kind}-----\n{}\n-----END {kind}-----\n",
            body.join("\n")
        );
        base64(pem.as_bytes(), B64, true)
    };
    let ca = pem_b64(r, "CERTIFICATE");
    let cert = pem_b64(r, "CERTIFICATE");
    benign.values.extend([ca.clone(), cert.clone()]);
    let kubeconfig = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://10.0.0.1:6443\n  name: prod\n\
         contexts:\n- context:\n    cluster: prod\n    user: admin\n  name: prod\ncurrent-context: prod\nkind: Config\nusers:\n\
         - name: admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {}\n\
         - name: ci\n  user:\n    token: {}\n\
         - name: dev/api-ocp-example-net:6443\n  user:\n    token: {}\n",
        c.plant("kubeconfig", pem_b64(r, "RSA PRIVATE KEY")),
        c.plant("kubeconfig", format!("{}.{}", r.s("abcdefghijklmnopqrstuvwxyz0123456789", 6), r.s("abcdefghijklmnopqrstuvwxyz0123456789", 16))),
        c.plant("kubeconfig", format!("sha256~{}", r.s(B64URL, 43))),
    );

    // A Kubernetes Secret as `kubectl get secret -o yaml` prints it: every data value, whatever
    // its key, and the TLS key written as base64 PEM.
    let secret_manifest = format!(
        "apiVersion: v1\ndata:\n  .dockerconfigjson: {}\n  db-pass: {}\n  tls.key: {}\n         kind: Secret\nmetadata:\n  name: app-secrets\n  namespace: production\ntype: Opaque\n",
        c.plant(
            "kubernetes-secret",
            base64(format!("{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{}\"}}}}}}", r.s(B64, 32)).as_bytes(), B64, true)
        ),
        c.plant("kubernetes-secret", base64(r.password().as_bytes(), B64, true)),
        c.plant("kubernetes-secret", pem_b64(r, "PRIVATE KEY")),
    );

    // docker config.json, pretty-printed as docker writes it.
    let docker = format!(
        "{{\n\t\"auths\": {{\n\t\t\"registry.example.net\": {{\n\t\t\t\"auth\": \"{}\"\n\t\t}},\n\
         \t\t\"https://index.docker.io/v1/\": {{\n\t\t\t\"identitytoken\": \"{}\"\n\t\t}}\n\t}},\n\
         \t\"credsStore\": \"desktop\"\n}}\n",
        c.plant(
            "docker-config",
            base64(format!("ci:{}", r.password()).as_bytes(), B64, true)
        ),
        c.plant("docker-config", r.s(B64URL, 48)),
    );

    let bash = |command: &str| json!({"command": command, "description": "show the file"});
    export_with(
        "Why does the deploy fail to log in?",
        "Check the credentials the tools use.",
        vec![
            ("bash", bash("cat ~/.netrc"), netrc),
            ("bash", bash("cat ~/.pgpass"), pgpass),
            ("bash", bash("cat ~/.git-credentials"), git_credentials),
            (
                "read",
                json!({"filePath": "/home/dev/.m2/settings.xml"}),
                maven,
            ),
            ("bash", bash("cat NuGet.Config"), nuget),
            ("bash", bash("cat ~/.my.cnf"), ini),
            (
                "read",
                json!({"filePath": "src/main/resources/application.properties"}),
                properties,
            ),
            ("bash", bash("cat ~/.kube/config"), kubeconfig),
            (
                "bash",
                bash("kubectl get secret app-secrets -o yaml"),
                secret_manifest,
            ),
            ("bash", bash("cat ~/.docker/config.json"), docker),
        ],
    )
}

#[test]
fn credential_files_an_agent_prints_lose_every_secret() {
    // See issue 18.
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let mut corpus = Corpus::default();
    let mut benign = Benign { values: Vec::new() };
    let export = credential_files_export(&mut Rng(18), &mut corpus, &mut benign);
    let file = env.path("credentials.json");
    write_json(&file, &export);
    repo.git_session(&["save", "--from", &file.display().to_string()])
        .success();

    // Recall per format: a secret counts as kept out when no piece of it is in any object.
    let (objects, bytes) = all_object_bytes(&repo);
    let mut leaked = Vec::new();
    for format in corpus.formats() {
        let values: Vec<&String> = corpus
            .planted
            .iter()
            .filter(|(f, _)| *f == format)
            .map(|(_, v)| v)
            .collect();
        let kept = values.iter().filter(|v| !contains(&bytes, v)).count();
        println!("{format}: {kept} of {} secrets removed", values.len());
        leaked.extend(values.into_iter().filter(|v| contains(&bytes, v)));
    }
    assert!(
        leaked.is_empty(),
        "{} of {} secrets found in {objects} objects: {leaked:?}",
        leaked.len(),
        corpus.planted.len()
    );

    // show: the input but for the markers, each standing for a planted secret and no more.
    let shown = repo.show(TOOLCALL.id, None);
    let mut replaced = Vec::new();
    compare(&export, &shown, "", &mut replaced);
    for (path, marker, text) in &replaced {
        let secret = corpus.planted.iter().find(|(_, v)| text == v);
        assert!(
            secret.is_some(),
            "{path}: {marker} replaced {text:?}, which is not exactly a planted secret"
        );
    }
    let text = shown.to_string();
    for value in &benign.values {
        assert!(text.contains(value.as_str()), "{value:.60} must come back");
    }
    for kept in [
        "machine ftp.example.net",
        "db.internal:5432:app:app:",
        "<username>deploy</username>",
        "<add key=\\\"Username\\\" value=\\\"ci\\\" />",
        "${user.home}/.ssh/id_rsa",
        "user = root",
        "db.username=app",
        "\\\"credsStore\\\": \\\"desktop\\\"",
    ] {
        assert!(text.contains(kept), "{kept} must come back");
    }
    repo.assert_fsck_clean();
}
