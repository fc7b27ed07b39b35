//! Lifecycle and reading: `stats` figures against what was saved, `prune` (dry run, age,
//! keep-last with a real space reclaim by gc), `delete` (local and on a remote, refusals),
//! `show --format md|html` on every real example (the page opened in headless Chromium), and
//! `search`.

use std::path::Path;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::browser::Chromium;
use crate::support::{
    gen, write_json, Repo, TestEnv, ALL_EXAMPLES, COMPACTED, REASONING, TASK_CHILD, TASK_PARENT,
    TOOLCALL,
};

/// Saves every real example (the task child together with its parent).
fn save_examples(repo: &Repo<'_>) {
    repo.save(&[&TOOLCALL.path()]);
    repo.save(&[&COMPACTED.path()]);
    repo.save(&[&REASONING.path()]);
    repo.save(&[&TASK_PARENT.path(), &TASK_CHILD.path()]);
}

fn messages(export: &Value) -> &Vec<Value> {
    export["messages"].as_array().expect("messages array")
}

fn parts(export: &Value) -> u64 {
    messages(export)
        .iter()
        .map(|m| m["parts"].as_array().map_or(0, Vec::len) as u64)
        .sum()
}

/// The size of an export as compact JSON.
fn compact_len(export: &Value) -> u64 {
    serde_json::to_string(export).unwrap().len() as u64
}

/// `(content, disk)` byte sums of every object reachable from the sessions refs, by git itself.
fn git_object_sizes(repo: &Repo<'_>) -> (u64, u64, u64) {
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/sessions/"]);
    let mut args = vec!["rev-list", "--objects"];
    args.extend(refs.lines());
    let objects = repo.git(&args);
    let ids: String = objects
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|id| format!("{id}\n"))
        .collect();
    let mut child = repo
        .env
        .command("git")
        .current_dir(&repo.dir)
        .args(["cat-file", "--batch-check=%(objectsize) %(objectsize:disk)"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn git cat-file");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(ids.as_bytes())
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut count, mut content, mut disk) = (0, 0, 0);
    for line in text.lines() {
        let (c, d) = line.split_once(' ').unwrap();
        count += 1;
        content += c.parse::<u64>().unwrap();
        disk += d.parse::<u64>().unwrap();
    }
    (count, content, disk)
}

/// `size` + `size-pack` of `git count-objects -v`, in KiB.
fn store_kib(repo: &Repo<'_>) -> u64 {
    repo.object_counts()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| *k == "size" || *k == "size-pack")
        .map(|(_, v)| v.trim().parse::<u64>().unwrap())
        .sum()
}

/// Text that zlib and git's deltas cannot shrink much: hex of a xorshift stream.
fn noise(seed: u64, bytes: usize) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = String::with_capacity(bytes + 80);
    while out.len() < bytes {
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push_str(&format!("{x:016x}"));
        }
        out.push('\n');
    }
    out
}

#[test]
fn stats_figures_match_what_was_saved() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let empty = repo.git_session(&["stats", "--json"]).success().json();
    assert_eq!(empty["sessions"]["total"], 0);
    assert_eq!(empty["dedupRatio"], Value::Null, "no ratio of nothing");

    save_examples(&repo);
    // Two more saves of the compacted session, each grown by a few messages.
    let mut compacted_saves = vec![COMPACTED.json()];
    for (n, tag) in [(2, "one"), (3, "two")] {
        let grown = gen::grow(compacted_saves.last().unwrap(), tag, n);
        let file = env.path(&format!("compacted-{tag}.json"));
        write_json(&file, &grown);
        repo.save(&[&file]);
        compacted_saves.push(grown);
    }
    let newest = [
        TOOLCALL.json(),
        compacted_saves.last().unwrap().clone(),
        REASONING.json(),
        TASK_PARENT.json(),
        TASK_CHILD.json(),
    ];
    let stats = repo.git_session(&["stats", "--json"]).success().json();

    // Counts: exact.
    assert_eq!(
        stats["sessions"],
        json!({"roots": 4, "children": 1, "total": 5})
    );
    assert_eq!(stats["saves"], 3 + 3, "one save each, two more of one");
    assert_eq!(stats["merges"], 0);
    let want_messages: usize = newest.iter().map(|e| messages(e).len()).sum();
    assert_eq!(stats["messages"], want_messages as u64);
    assert_eq!(stats["parts"], newest.iter().map(parts).sum::<u64>());

    // Raw bytes: the stored size is the canonical compact JSON of the session info and of each
    // message, which leaves out the export's `{"messages":[..]}` wrapper and commas: within 1%
    // (and 64 bytes per export) of the exports as compact JSON.
    let close = |got: u64, want: u64, exports: u64, what: &str| {
        let tolerance = (want / 100).max(64 * exports);
        assert!(
            got.abs_diff(want) <= tolerance,
            "{what}: {got} vs {want} (tolerance {tolerance})"
        );
    };
    let newest_len: u64 = newest.iter().map(compact_len).sum();
    close(
        stats["bytes"]["rawNewest"].as_u64().unwrap(),
        newest_len,
        5,
        "raw, newest",
    );
    let all_len =
        newest_len - compact_len(&newest[1]) + compacted_saves.iter().map(compact_len).sum::<u64>();
    close(
        stats["bytes"]["rawAllSaves"].as_u64().unwrap(),
        all_len,
        7,
        "raw, all saves",
    );

    // Stored bytes: exactly what git reports for the objects the sessions refs reach, loose...
    let (count, content, disk) = git_object_sizes(&repo);
    assert_eq!(stats["objects"], count);
    assert_eq!(stats["bytes"]["objects"], content);
    assert_eq!(stats["bytes"]["stored"], disk);
    let ratio = |key: &str| stats[key].as_f64().unwrap();
    let raw_all = stats["bytes"]["rawAllSaves"].as_f64().unwrap();
    assert!((ratio("dedupRatio") - raw_all / content as f64).abs() < 1e-9);
    assert!((ratio("compressionRatio") - content as f64 / disk as f64).abs() < 1e-9);
    assert!((ratio("overallRatio") - raw_all / disk as f64).abs() < 1e-9);
    let largest = stats["largest"].as_array().unwrap();
    assert_eq!(largest[0]["id"], COMPACTED.id, "three saves: the largest");
    assert_eq!(largest[0]["saves"], 3);

    // ... and packed, where deltas make the store smaller.
    repo.git(&["gc", "--quiet"]);
    let packed = repo.git_session(&["stats", "--json"]).success().json();
    let (count2, content2, disk2) = git_object_sizes(&repo);
    assert_eq!((packed["objects"].as_u64(), count2), (Some(count), count));
    assert_eq!(packed["bytes"]["objects"], content2);
    assert_eq!(packed["bytes"]["stored"], disk2);
    assert!(disk2 < disk, "packing shrinks the store: {disk2} < {disk}");

    let text = repo.git_session(&["stats"]).success().stdout;
    for needle in [
        "sessions        5 (4 roots, 1 child)",
        "saves           6",
        "dedup ratio",
        COMPACTED.id,
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
}

#[test]
fn prune_dry_run_changes_no_ref_and_older_than_deletes_only_old_sessions() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let old = repo
        .env
        .git_session_command(&repo.dir)
        .env("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
        .args(["save", "--from", &COMPACTED.arg()])
        .output()
        .unwrap();
    assert!(old.status.success(), "{old:?}");
    repo.save(&[&TOOLCALL.path()]);
    for n in 0..3 {
        let file = env.path(&format!("grown-{n}.json"));
        write_json(&file, &gen::grow(&TOOLCALL.json(), &format!("g{n}"), n + 1));
        repo.save(&[&file]);
    }
    let before = repo.refs();

    let dry = repo
        .git_session(&[
            "prune",
            "--older-than",
            "30d",
            "--keep-last",
            "1",
            "--dry-run",
        ])
        .success();
    assert_eq!(repo.refs(), before, "--dry-run changes no ref");
    assert!(
        dry.stderr
            .contains(&format!("would delete {}", COMPACTED.id))
            && dry.stderr.contains("last saved 2020-01-01 00:00"),
        "{dry}"
    );
    assert!(
        dry.stderr
            .contains(&format!("would shorten {}", TOOLCALL.id))
            && dry
                .stderr
                .contains("keeping the newest 1 of 4 saves, dropping 3"),
        "{dry}"
    );
    let json = repo
        .git_session(&["prune", "--older-than", "30d", "--dry-run", "--json"])
        .success()
        .json();
    assert_eq!(json["dryRun"], true);
    assert_eq!(json["deleted"][0]["session"], COMPACTED.id);
    assert_eq!(repo.refs(), before, "--dry-run --json changes no ref");

    let bad = repo.git_session(&["prune", "--older-than", "30x"]);
    assert_eq!(bad.code, Some(129), "{bad}");
    assert!(bad.stderr.contains("unknown unit"), "{bad}");
    let nothing = repo.git_session(&["prune"]);
    assert_eq!(nothing.code, Some(129), "{nothing}");

    let tip = repo.rev_parse(&TOOLCALL.ref_name());
    let run = repo.git_session(&["prune", "--older-than", "2w"]).success();
    assert!(
        run.stderr.contains(&format!("deleting {}", COMPACTED.id)),
        "{run}"
    );
    assert_eq!(
        repo.rev_parse(&COMPACTED.ref_name()),
        None,
        "the old one is gone"
    );
    assert_eq!(
        repo.rev_parse(&TOOLCALL.ref_name()),
        tip,
        "the recent one is untouched"
    );
    repo.assert_fsck_clean();
}

#[test]
fn prune_keep_last_rewrites_history_and_gc_then_reduces_the_store() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    repo.save(&[&COMPACTED.path()]);
    let mut versions = Vec::new();
    for n in 0..6u64 {
        let export = gen::with_bash_output(&TOOLCALL.json(), &noise(n, 96 * 1024));
        let mut export = gen::grow(&export, &format!("v{n}"), n as usize);
        gen::set_updated(
            &mut export,
            gen::updated_ms(&TOOLCALL.json()) + 10_000 * n as i64,
        );
        let file = env.path(&format!("v{n}.json"));
        write_json(&file, &export);
        repo.save(&[&file]);
        versions.push(export);
    }
    let name = TOOLCALL.ref_name();
    assert_eq!(repo.commit_count(&name), 6);
    let log_format = "--format=%T%n%an <%ae> %at%n%cn <%ce> %ct%n%B";
    let old_newest_two = repo.git(&["log", log_format, "-2", &name]);
    let other_tip = repo.rev_parse(&COMPACTED.ref_name());
    repo.git(&["gc", "--quiet"]);
    let packed_kib = store_kib(&repo);

    let run = repo
        .git_session(&["prune", "--keep-last", "2", "--json"])
        .success()
        .json();
    assert_eq!(run["shortened"][0]["session"], TOOLCALL.id);
    assert_eq!(run["shortened"][0]["dropped"], 4);
    assert_eq!(
        repo.commit_count(&name),
        2,
        "a chain of the newest two saves"
    );
    assert_eq!(
        repo.git(&["log", log_format, &name]),
        old_newest_two,
        "same trees, authors, committers, times and messages"
    );
    assert_eq!(repo.show(TOOLCALL.id, None), versions[5]);
    assert_eq!(repo.show(TOOLCALL.id, Some("~1")), versions[4]);
    assert_eq!(
        repo.rev_parse(&COMPACTED.ref_name()),
        other_tip,
        "a session with one save is not rewritten"
    );
    let again = repo.git_session(&["prune", "--keep-last", "2"]).success();
    assert!(again.stderr.contains("Nothing to prune"), "{again}");

    let gc = repo
        .git_session(&["gc", "--now", "--json"])
        .success()
        .json();
    let after_kib = store_kib(&repo);
    assert!(
        gc["after"]["bytes"].as_u64() < gc["before"]["bytes"].as_u64(),
        "{gc}"
    );
    // Four of six ~96 KiB outputs are gone: well over 200 KiB.
    assert!(
        after_kib + 200 < packed_kib,
        "gc reclaimed the dropped saves: {packed_kib} KiB -> {after_kib} KiB"
    );
    repo.assert_fsck_clean();
    assert_eq!(repo.show(TOOLCALL.id, None), versions[5]);
    assert_eq!(repo.show(COMPACTED.id, None), COMPACTED.json());
}

#[test]
fn delete_leaves_other_sessions_intact_here_and_on_a_remote() {
    let env = TestEnv::new();
    let remote = env.bare_repo("remote.git");
    let repo = env.repo_with_commit("work");
    repo.git(&["remote", "add", "origin", &remote.dir.display().to_string()]);
    save_examples(&repo);
    repo.git_session(&["push"]).success();
    let other_refs = |r: &Repo<'_>| -> String {
        r.refs()
            .lines()
            .filter(|l| !l.contains(REASONING.id) && !l.contains(TOOLCALL.id))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let (here_before, there_before) = (other_refs(&repo), other_refs(&remote));

    let child = repo.git_session(&["delete", TASK_CHILD.id]).failure();
    child.single_error(&["child session", TASK_PARENT.id]);

    let local = repo.git_session(&["delete", "ses_dfee77"]).success();
    assert!(
        local.stderr.contains(&format!("deleted {}", REASONING.id)),
        "{local}"
    );
    assert_eq!(repo.rev_parse(&REASONING.ref_name()), None);
    assert!(
        remote.rev_parse(&REASONING.ref_name()).is_some(),
        "without --remote the remote keeps it"
    );
    let remote_delete = repo
        .git_session(&["delete", TOOLCALL.id, REASONING.id, "--remote", "origin"])
        .success();
    assert!(
        remote_delete
            .stderr
            .contains(&format!("deleted {} on origin", TOOLCALL.id)),
        "{remote_delete}"
    );
    for gone in [TOOLCALL, REASONING] {
        assert_eq!(repo.rev_parse(&gone.ref_name()), None, "{}", gone.id);
        assert_eq!(remote.rev_parse(&gone.ref_name()), None, "{}", gone.id);
    }
    assert_eq!(other_refs(&repo), here_before, "other sessions intact here");
    assert_eq!(other_refs(&remote), there_before, "and on the remote");
    assert_eq!(repo.show(COMPACTED.id, None), COMPACTED.json());
    assert_eq!(repo.show(TASK_CHILD.id, None), TASK_CHILD.json());
    repo.git(&["gc", "--quiet", "--prune=now"]);
    repo.assert_fsck_clean();
    assert_eq!(repo.show(TASK_PARENT.id, None), TASK_PARENT.json());

    // A remote that refuses: the error says so, and nothing is deleted on either side.
    let hook = remote.git_dir.join("hooks").join("pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'no deletes here' >&2\nexit 1\n").unwrap();
    set_executable(&hook);
    let refused = repo
        .git_session(&["delete", COMPACTED.id, "--remote", "origin"])
        .failure();
    refused.single_error(&["origin refused to delete", COMPACTED.id]);
    assert!(refused.stderr.contains("kept"), "{refused}");
    assert!(repo.rev_parse(&COMPACTED.ref_name()).is_some());
    assert!(remote.rev_parse(&COMPACTED.ref_name()).is_some());
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

#[test]
fn markdown_of_every_real_example_has_every_user_text_and_tool_name() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    save_examples(&repo);
    for example in ALL_EXAMPLES {
        let md = repo
            .git_session(&["show", example.id, "--format", "md"])
            .success()
            .stdout;
        let export = example.json();
        let title = export["info"]["title"].as_str().unwrap();
        assert!(md.contains(title), "{}: the title", example.id);
        for message in messages(&export) {
            let role = message["info"]["role"].as_str().unwrap();
            for part in message["parts"].as_array().unwrap() {
                match part["type"].as_str().unwrap() {
                    "text" if role == "user" => {
                        let text = part["text"].as_str().unwrap().trim_end();
                        // `<` outside code is written `\<` so that it shows as text.
                        let shown = md.replace("\\<", "<");
                        assert!(shown.contains(text), "{}: user text {text:?}", example.id);
                    }
                    "tool" => {
                        let tool = part["tool"].as_str().unwrap();
                        assert!(
                            md.contains(&format!("**Tool `{tool}`**")),
                            "{}: tool {tool}",
                            example.id
                        );
                        let input = serde_json::to_string_pretty(&part["state"]["input"]).unwrap();
                        assert!(md.contains(&input), "{}: the tool input", example.id);
                    }
                    _ => {}
                }
            }
        }
    }
    let compacted = repo
        .git_session(&["show", COMPACTED.id, "--format", "md"])
        .success()
        .stdout;
    assert!(
        compacted.contains("**Compaction** (automatic)"),
        "{compacted}"
    );
    assert!(compacted.contains("### Compaction summary"), "{compacted}");
    let reasoning = repo
        .git_session(&["show", REASONING.id, "--format", "md"])
        .success()
        .stdout;
    assert!(
        reasoning.contains("<details><summary>Reasoning</summary>"),
        "{reasoning}"
    );
    let parent = repo
        .git_session(&["show", TASK_PARENT.id, "--format", "md"])
        .success()
        .stdout;
    assert!(
        parent.contains(&format!("<a id=\"{}\"></a>", TASK_CHILD.id))
            && parent.contains(&format!("](#{})", TASK_CHILD.id)),
        "the child session is a section the task call links to:\n{parent}"
    );
    let toolcall = repo
        .git_session(&["show", TOOLCALL.id, "--format", "md"])
        .success()
        .stdout;
    assert!(toolcall.contains("```diff\nIndex: made.txt"), "{toolcall}");
}

#[test]
fn md_trims_a_long_tool_output_and_says_how_much() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let output = gen::long_text("trim", 20 * 1024);
    let file = env.path("long.json");
    write_json(&file, &gen::with_bash_output(&TOOLCALL.json(), &output));
    repo.save(&[&file]);
    let md = repo
        .git_session(&["show", TOOLCALL.id, "--format", "md"])
        .success()
        .stdout;
    let lines = output.lines().count();
    assert!(md.contains("trim: line 00040 "), "{md}");
    assert!(!md.contains("trim: line 00041 "), "{md}");
    assert!(
        md.contains(&format!("… {} more lines (", lines - 40)),
        "the cut is counted:\n{md}"
    );
}

/// Runs `program` with `args`, killing it after `limit`.
#[test]
fn the_html_page_opens_in_headless_chromium_and_shows_the_title() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let mut export = TASK_PARENT.json();
    let title = "Fix <b>the parser</b> & \"quotes\"";
    export["info"]["title"] = json!(title);
    let file = env.path("parent.json");
    write_json(&file, &export);
    repo.save(&[&file, &TASK_CHILD.path()]);
    let page = repo
        .git_session(&["show", TASK_PARENT.id, "--format", "html"])
        .success()
        .stdout;
    assert!(
        page.contains("<title>Fix &lt;b&gt;the parser&lt;/b&gt; &amp; &quot;quotes&quot;</title>"),
        "{page}"
    );
    for external in ["src=", "href=\"http", "@import", "url("] {
        assert!(!page.contains(external), "no external asset: {external}");
    }
    let path = env.path("session.html");
    std::fs::write(&path, &page).unwrap();

    let Some(chromium) = Chromium::find(&env, "the_html_page_opens_in_headless_chromium") else {
        return;
    };
    let dom = chromium.dom(&format!("file://{}", path.display()), None);
    // The DOM as Chromium parsed it: the title is text (the tags in it were not parsed as tags),
    // the heading shows it, and the child session's section exists.
    assert!(
        dom.contains("<title>Fix &lt;b&gt;the parser&lt;/b&gt; &amp; \"quotes\"</title>"),
        "{dom}"
    );
    assert!(
        dom.contains("<h1>Fix &lt;b&gt;the parser&lt;/b&gt; &amp; \"quotes\"</h1>"),
        "{dom}"
    );
    assert!(!dom.contains("<b>the parser</b>"), "{dom}");
    assert!(
        dom.contains(&format!("<section id=\"{}\">", TASK_CHILD.id)),
        "{dom}"
    );
}

#[test]
fn search_finds_a_planted_string_in_a_tool_output_and_nothing_where_it_is_absent() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    let planted = format!(
        "{}\nthe build failed: PLANTED-7f3a9 in module_x\n{}",
        gen::long_text("before", 4096),
        gen::long_text("after", 4096)
    );
    let file = env.path("planted.json");
    write_json(&file, &gen::with_bash_output(&TOOLCALL.json(), &planted));
    repo.save(&[&file]);
    repo.save(&[&COMPACTED.path()]);

    let found = repo.git_session(&["search", "PLANTED-7f3a9"]).success();
    let lines: Vec<&str> = found.stdout.lines().collect();
    assert_eq!(
        lines,
        [format!(
            "{}:msg_20100ab6b001JEsAs1NNUoFTaE:prt_20100b2610016XXGSP7Hhy1suZ: the build failed: PLANTED-7f3a9 in module_x",
            TOOLCALL.id
        )],
        "one line: the output (its copy in metadata.output is not searched twice)\n{found}"
    );
    let json = repo
        .git_session(&["search", r"planted-\d+[a-f]\d[a-f]\d", "-i", "--json"])
        .success();
    let hits: Vec<Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 1, "{json}");
    assert_eq!(hits[0]["field"], "output");
    assert_eq!(hits[0]["match"], "PLANTED-7f3a9");
    assert_eq!(hits[0]["session"], TOOLCALL.id);

    let elsewhere = repo
        .git_session(&["search", "PLANTED-7f3a9", "--session", COMPACTED.id])
        .failure();
    assert_eq!(elsewhere.stdout, "", "{elsewhere}");
    assert!(elsewhere.stderr.contains("No match"), "{elsewhere}");
    let regex_not_fixed = repo
        .git_session(&["search", "PLANTED-7f3a9.in", "--fixed-strings"])
        .failure();
    assert_eq!(
        regex_not_fixed.stdout, "",
        "--fixed-strings takes '.' literally"
    );
    let input = repo.git_session(&["search", "cat hello.txt"]).success();
    assert!(
        input.stdout.lines().any(|l| l.starts_with(COMPACTED.id)),
        "tool inputs are searched too:\n{input}"
    );
    let bad = repo.git_session(&["search", "("]);
    assert_eq!(bad.code, Some(129), "{bad}");
}
