// git-session's OpenCode plugin: saves sessions into the project's git repository before OpenCode
// compacts them (and, if configured, when a session is reverted or goes idle).
//
// One file for OpenCode 1 and OpenCode 2: its default export is `{id, server, setup}`.
// OpenCode 1 (1.18.33 tested) runs `server`; OpenCode 2 runs `setup` (a plugin must default-export
// `{id, setup}`: anomalyco/opencode packages/core/src/plugin/module.ts), which registers the
// awaited `session.hook("compaction")` and saves through `git-session save --session <id>` (read
// with `opencode session export`) before the compaction request. The OpenCode 2 half is written
// from the 2.x source and not run against a real OpenCode 2.
//
// Installed by `git session install`; removed by `git session uninstall`. Plain ES module, no
// dependencies. It never throws and never holds OpenCode up for long: a save that fails or takes
// longer than GIT_SESSION_SAVE_TIMEOUT milliseconds (default 5000; the process is killed) writes
// one line to the log and OpenCode goes on.
//
// Settings (environment first, then git config):
//   GIT_SESSION_BIN              the git-session binary (default: `git-session` on PATH)
//   GIT_SESSION_SAVE_ON          events that save, comma-separated: compaction, revert, idle, or
//   git config session.saveOn    none (default: compaction,revert)
//   GIT_SESSION_SAVE_TIMEOUT     milliseconds a save may take (default 5000)
// Failures go to $XDG_STATE_HOME/git-session/opencode-plugin.log (~/.local/state/...), outside
// the worktree: OpenCode snapshots the worktree at every step, so nothing here writes there.

import { spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"

const DEFAULT_EVENTS = ["compaction", "revert"]
const KNOWN_EVENTS = ["compaction", "revert", "idle"]
const LOADED = Symbol.for("git-session.opencode-plugin")

const GitSession = async ({ client, directory, worktree }) => {
  // Installed both globally and in the project: one copy saves, the other stays quiet.
  if (globalThis[LOADED]) return {}
  globalThis[LOADED] = true
  const bin = process.env.GIT_SESSION_BIN || "git-session"
  const timeoutMs = positive(process.env.GIT_SESSION_SAVE_TIMEOUT) ?? 5000
  let events // a promise of the configured events, read once on first use
  const running = new Map() // session id -> {dirty: boolean} while an event save runs
  const reverts = new Map() // session id -> the revert point last saved for

  const log = async (line) => {
    const text = `${new Date().toISOString()} ${line}`
    try {
      const file = logFile()
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.appendFileSync(file, text + "\n")
    } catch {}
    try {
      await client.app.log({ body: { service: "git-session", level: "warn", message: line } })
    } catch {}
  }

  // A global install also loads in projects that are not git repositories: nothing to save there.
  const inRepo = [worktree, directory].some((d) => d && fs.existsSync(path.join(d, ".git")))

  const enabled = async (event) => {
    if (!inRepo) return false
    events ??= configuredEvents(worktree || directory, timeoutMs)
    try {
      return (await events).includes(event)
    } catch {
      return DEFAULT_EVENTS.includes(event)
    }
  }

  // Reads the session and its descendants and saves them; resolves to an error text or null.
  const save = async (id, reason) => {
    let dir
    try {
      const deadline = Date.now() + timeoutMs
      const sessions = await within(readTree(client, id), timeoutMs, "reading the session")
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "git-session-"))
      const args = ["save", "--quiet", "--reason", reason]
      sessions.forEach((doc, i) => {
        const file = path.join(dir, `${i}.json`)
        fs.writeFileSync(file, JSON.stringify(doc))
        args.push("--from", file)
      })
      const cwd = sessions[0]?.info?.directory || worktree || directory
      return await run(bin, args, cwd, Math.max(deadline - Date.now(), 500))
    } catch (e) {
      return String(e?.message ?? e)
    } finally {
      if (dir) {
        try {
          fs.rmSync(dir, { recursive: true, force: true })
        } catch {}
      }
    }
  }

  const saveLogged = async (id, reason) => {
    const problem = await save(id, reason)
    if (problem) await log(`${id} ${reason}: not saved: ${problem}`)
  }

  // Event saves run in the background; a session being saved is saved once more afterwards
  // instead of twice at the same time.
  const saveInBackground = (id, reason) => {
    const busy = running.get(id)
    if (busy) {
      busy.dirty = true
      return
    }
    const state = { dirty: false }
    running.set(id, state)
    ;(async () => {
      try {
        do {
          state.dirty = false
          await saveLogged(id, reason)
        } while (state.dirty)
      } finally {
        running.delete(id)
      }
    })().catch(() => {})
  }

  return {
    // Awaited by OpenCode before it writes the compaction summary: every message is still there.
    "experimental.session.compacting": async (input) => {
      try {
        const id = input?.sessionID
        if (id && (await enabled("compaction"))) await saveLogged(id, "pre-compaction")
      } catch {}
    },
    event: async ({ event }) => {
      try {
        const type = event?.type
        if (type === "session.updated") {
          // A revert keeps the messages until the next prompt removes them: save them now.
          const info = event.properties?.info
          const point = info?.revert?.messageID
          if (!info?.id || !point || reverts.get(info.id) === point) return
          reverts.set(info.id, point)
          if (await enabled("revert")) saveInBackground(info.id, "pre-revert")
        } else if (type === "session.idle") {
          const id = event.properties?.sessionID
          if (id && (await enabled("idle"))) saveInBackground(id, "idle")
        }
      } catch {}
    },
  }
}

// OpenCode 2: the compaction hook is awaited before the compaction request (every message is
// still there). It never sets `event.result` (that would replace the summary and skip the model)
// and never throws (a thrown error fails the request): everything is caught, and the save is
// bounded by GIT_SESSION_SAVE_TIMEOUT.
async function setup(ctx) {
  try {
    const directory = ctx?.directory || ctx?.location?.directory || ctx?.app?.directory || process.cwd()
    const bin = process.env.GIT_SESSION_BIN || "git-session"
    const timeoutMs = positive(process.env.GIT_SESSION_SAVE_TIMEOUT) ?? 5000
    if (!fs.existsSync(path.join(directory, ".git")) && !insideGit(directory)) return
    let events
    await ctx.session.hook("compaction", async (event) => {
      try {
        const id = event?.sessionID
        if (!id) return
        events ??= configuredEvents(directory, timeoutMs)
        let on
        try {
          on = (await events).includes("compaction")
        } catch {
          on = DEFAULT_EVENTS.includes("compaction")
        }
        if (!on) return
        const args = ["save", "--quiet", "--reason", "pre-compaction", "--session", id]
        const problem = await run(bin, args, directory, timeoutMs)
        if (problem) appendLog(`${id} pre-compaction: not saved: ${problem}`)
      } catch (e) {
        appendLog(`pre-compaction: not saved: ${e?.message ?? e}`)
      }
    })
  } catch {}
}

function insideGit(dir) {
  let d = dir
  for (let i = 0; i < 64 && d; i++) {
    if (fs.existsSync(path.join(d, ".git"))) return true
    const up = path.dirname(d)
    if (up === d) return false
    d = up
  }
  return false
}

function appendLog(line) {
  try {
    const file = logFile()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.appendFileSync(file, `${new Date().toISOString()} ${line}\n`)
  } catch {}
}

export default { id: "git-session", server: GitSession, setup }

function positive(text) {
  const n = Number(text)
  return Number.isFinite(n) && n > 0 ? n : undefined
}

function logFile() {
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state")
  return path.join(state, "git-session", "opencode-plugin.log")
}

// The events that save: GIT_SESSION_SAVE_ON, else `git config session.saveOn`, else the default.
async function configuredEvents(cwd, timeoutMs) {
  let text = process.env.GIT_SESSION_SAVE_ON
  if (text === undefined) {
    text = await new Promise((resolve) => {
      let out = ""
      let child
      try {
        child = spawn("git", ["config", "--get", "session.saveOn"], {
          cwd,
          stdio: ["ignore", "pipe", "ignore"],
        })
      } catch {
        return resolve(undefined)
      }
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      child.stdout.on("data", (d) => (out += d))
      child.on("error", () => resolve(undefined))
      child.on("close", (code) => {
        clearTimeout(timer)
        resolve(code === 0 ? out.trim() : undefined)
      })
    })
  }
  if (text === undefined || text.trim() === "") return DEFAULT_EVENTS
  return text
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => KNOWN_EVENTS.includes(s))
}

// The session's export document ({info, messages}, exactly what `opencode export` prints) and
// those of all its descendants (subagent sessions), parents first.
async function readTree(client, rootId) {
  const out = []
  const queue = [rootId]
  const seen = new Set()
  while (queue.length > 0) {
    const id = queue.shift()
    if (seen.has(id)) continue
    seen.add(id)
    const [info, messages] = await Promise.all([
      client.session.get({ path: { id } }),
      client.session.messages({ path: { id } }),
    ])
    if (!info?.data || !Array.isArray(messages?.data)) {
      if (id === rootId) throw new Error(`OpenCode did not return session ${id}`)
      continue
    }
    out.push({ info: info.data, messages: messages.data })
    const children = await client.session.children({ path: { id } })
    for (const child of children?.data ?? []) if (child?.id) queue.push(child.id)
  }
  return out
}

function within(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// Runs the binary; resolves to null on success, else one line saying what went wrong. Killed
// (TERM, then KILL a second later) when it runs longer than `ms`.
function run(bin, args, cwd, ms) {
  return new Promise((resolve) => {
    let child
    try {
      child = spawn(bin, args, { cwd, stdio: ["ignore", "ignore", "pipe"] })
    } catch (e) {
      return resolve(`cannot run ${bin}: ${e?.message ?? e}`)
    }
    let stderr = ""
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGTERM")
      setTimeout(() => child.kill("SIGKILL"), 1000).unref?.()
    }, ms)
    child.stderr.on("data", (d) => {
      if (stderr.length < 4096) stderr += d
    })
    child.on("error", (e) => {
      clearTimeout(timer)
      resolve(
        e?.code === "ENOENT"
          ? `${bin} not found (install git-session on PATH or set GIT_SESSION_BIN)`
          : `cannot run ${bin}: ${e?.message ?? e}`,
      )
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (timedOut) return resolve(`${bin} took longer than ${ms} ms and was stopped`)
      if (code === 0) return resolve(null)
      const last = stderr
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
        .filter((l) => l.startsWith("error:"))
        .concat(stderr.trim().split("\n").slice(-1))[0]
      resolve(`${bin} failed (${signal ?? `exit ${code}`}): ${last || "no output"}`)
    })
  })
}
