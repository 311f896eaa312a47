/**
 * The embedded default: the whole API on one machine with no other service. Tasks, idempotency
 * keys and the webhook outbox in SQLite, uploads and screenshots on disk, all under one data
 * directory; `video_url`s fetched SSRF-safely; the real analysis in a process of its own
 * (`AnalysisProcess`), so that it never stalls the event loop that answers polls; `callback_url`
 * webhooks delivered from the outbox, so a crash or a restart loses none.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import * as Authenticator from "@identify-face/core/Authenticator"
import * as Config from "@identify-face/core/Config"
import type { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { HttpApiServices } from "@identify-face/core/HttpApi"
import * as Pricing from "@identify-face/core/Pricing"
import type { RateLimit } from "@identify-face/core/RateLimiter"
import * as Server from "@identify-face/core/Server"
import * as VideoSource from "@identify-face/core/VideoSource"
import * as WebhookOutbox from "@identify-face/core/WebhookOutbox"
import * as Webhooks from "@identify-face/core/Webhooks"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as AnalysisProcess from "./AnalysisProcess.js"
import * as FileArtifactStore from "./FileArtifactStore.js"
import * as FileVideoStore from "./FileVideoStore.js"
import type * as NodeFaceAnalyzer from "./NodeFaceAnalyzer.js"
import * as SqliteStore from "./SqliteStore.js"
import * as UrlFetcher from "./UrlFetcher.js"
import * as WebhookSender from "./WebhookSender.js"

/** Options of the embedded server. */
export interface NodeServerOptions {
  /** Where the database, uploads and screenshots live. */
  readonly dataDir: string
  /** The bearer keys; each is a tenant. */
  readonly apiKeys: ReadonlyArray<string>
  /**
   * Settings over the defaults of API.md. The analyses share this machine with the polls, so
   * polls are paced at {@link POLL_BUDGET} a second unless `pollBudget` says otherwise.
   */
  readonly config?: Partial<Config.IdentifyFaceConfig> | undefined
  /** A token bucket per key; no limit when unset. */
  readonly rateLimit?: RateLimit | undefined
  /** Options of the real analysis, which runs in a child process (`AnalysisProcess`). */
  readonly analysis?: NodeFaceAnalyzer.NodeFaceAnalyzerOptions | undefined
  /** Another analyzer instead of the real one in its process, e.g. the test double, or `NodeFaceAnalyzer.layer()` in this process. */
  readonly analyzer?: Layer.Layer<FaceAnalyzer> | undefined
  /** Hosts the SSRF guard lets through although they are local (development only). */
  readonly allowHost?: ((host: string) => boolean) | undefined
  /** Hosts a `callback_url` may name although they are local, besides `allowHost`'s (tests on loopback only). */
  readonly allowCallbackHost?: ((host: string) => boolean) | undefined
  /**
   * The server secret that signs `callback_url` deliveries (each tenant's secret is derived from
   * it: `Webhooks.tenantSecret`). Needs `config.publicUrl`. Callbacks are owed from the write that
   * ends their task, in the database, and delivered from there (core's `WebhookOutbox`): one in
   * flight or waiting for a retry is sent after a crash or a restart. Unset: callbacks are checked
   * and kept, and nothing is sent until a start with a secret.
   */
  readonly webhookSecret?: Webhooks.WebhookSecret | undefined
  /** Resolves the host names of `video_url`s; default the system resolver. For tests of the SSRF guard. */
  readonly resolve?: UrlFetcher.UrlFetcherOptions["resolve"]
}

/** Polls a second of unfinished tasks the embedded server aims for (`Config.pollBudget`): about 7% of a core. */
export const POLL_BUDGET = 100

/** The embedded API: every service it needs, built from `options`. Settings are checked here. */
export const layer = (options: NodeServerOptions): Layer.Layer<HttpApiServices> => {
  const config = Config.make({ pollBudget: POLL_BUDGET, ...options.config })
  const fetchUrl = UrlFetcher.make({ dataDir: options.dataDir, maxBytes: config.maxVideoBytes, allowHost: options.allowHost, resolve: options.resolve })
  const uploads = FileVideoStore.layer({ dataDir: options.dataDir })
  const { allowHost, allowCallbackHost } = options
  const callbackHost = allowHost === undefined ? allowCallbackHost : (host: string) => allowHost(host) || allowCallbackHost?.(host) === true
  const webhooks = options.webhookSecret === undefined ? undefined : { secret: options.webhookSecret, allowHost: callbackHost }
  if (webhooks !== undefined) Webhooks.checkOptions(webhooks, config)
  // Not core's in-memory delivery: the task store owes each callback in the database, the outbox's deliverer sends it.
  const delivery =
    webhooks === undefined
      ? WebhookOutbox.layerNotifier(callbackHost)
      : WebhookOutbox.layer(webhooks).pipe(Layer.provide(WebhookSender.layer({ allowHost: callbackHost })), Layer.provide(Config.layer(config)))
  return Server.layer({ config, ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }) }).pipe(
    Layer.provide(VideoSource.layer({ fetchUrl, allowHost })),
    Layer.provide(
      Layer.mergeAll(
        uploads,
        FileArtifactStore.layer({ dataDir: options.dataDir }),
        Pricing.layerFree,
        Authenticator.layerKeys(options.apiKeys),
        options.analyzer ?? AnalysisProcess.layer(options.analysis),
        delivery
      ).pipe(Layer.provideMerge(SqliteStore.layer({ dataDir: options.dataDir })))
    )
  )
}

/** The embedded server's settings as read from the environment. */
export interface EnvironmentSettings {
  readonly dataDir: string
  readonly apiKeys: ReadonlyArray<string>
  /** A key made up because `IDENTIFY_FACE_API_KEYS` was unset: show it to the person starting the server. */
  readonly generatedKey: string | undefined
  readonly config: Partial<Config.IdentifyFaceConfig>
  readonly webhookSecret: Webhooks.WebhookSecret | undefined
  /** From `IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS`: hosts a `callback_url` may name although local. */
  readonly allowCallbackHost: ((host: string) => boolean) | undefined
  /** How long a stop may take (see {@link stopOnSignals}). */
  readonly shutdownTimeout: Duration.Duration
}

/**
 * A whole number from the environment variable `name`, or undefined when it is unset or empty.
 * Anything else throws `Config.InvalidConfigError` naming the variable, so a wrong setting stops
 * the start: for {@link settingsFromEnv}, and for the settings of servers built on this one (the
 * demo apps' `IDENTIFY_FACE_ANALYZER_DELAY_MS`).
 */
export const wholeNumberFromEnv = (env: Readonly<Record<string, string | undefined>>, name: string): number | undefined => {
  const value = env[name]
  if (value === undefined || value === "") return undefined
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new Config.InvalidConfigError(`identify-face: ${name} must be a whole number, got ${value}`)
  }
  return Number(value)
}

/**
 * Reads `IDENTIFY_FACE_API_KEYS` (comma-separated; one is generated when unset),
 * `IDENTIFY_FACE_DATA_DIR` (default `.data` in the working directory), `IDENTIFY_FACE_PUBLIC_URL`,
 * `IDENTIFY_FACE_CONCURRENCY`, `IDENTIFY_FACE_TASK_TIMEOUT_SECONDS`,
 * `IDENTIFY_FACE_WEBHOOK_SECRET` (`whsec_...`, see `Webhooks.generateSecret`),
 * `IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS` (comma-separated `host:port`s, as `URL.host`, that a
 * `callback_url` may name although local: for tests on loopback, never in production) and
 * `IDENTIFY_FACE_SHUTDOWN_SECONDS` (default 10, see {@link stopOnSignals}). A wrong value throws
 * `Config.InvalidConfigError` naming the variable.
 */
export const settingsFromEnv = (env: Readonly<Record<string, string | undefined>>): EnvironmentSettings => {
  const configured = Authenticator.parseKeys(env.IDENTIFY_FACE_API_KEYS)
  const generatedKey = configured.length === 0 ? `ifk_${randomBytes(24).toString("base64url")}` : undefined
  const integer = (name: string) => wholeNumberFromEnv(env, name)
  const concurrency = integer("IDENTIFY_FACE_CONCURRENCY")
  const timeoutSeconds = integer("IDENTIFY_FACE_TASK_TIMEOUT_SECONDS")
  const shutdownSeconds = integer("IDENTIFY_FACE_SHUTDOWN_SECONDS") ?? 10
  if (shutdownSeconds < 1) throw new Config.InvalidConfigError("identify-face: IDENTIFY_FACE_SHUTDOWN_SECONDS must be at least 1")
  const config: Partial<Config.IdentifyFaceConfig> = {
    ...(env.IDENTIFY_FACE_PUBLIC_URL ? { publicUrl: env.IDENTIFY_FACE_PUBLIC_URL } : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(timeoutSeconds === undefined ? {} : { taskTimeout: Duration.seconds(timeoutSeconds) })
  }
  Config.make(config)
  const callbackHosts = (env.IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS ?? "").split(",").map((host) => host.trim()).filter((host) => host !== "")
  return {
    dataDir: path.resolve(env.IDENTIFY_FACE_DATA_DIR || ".data"),
    apiKeys: generatedKey === undefined ? configured : [generatedKey],
    generatedKey,
    config,
    webhookSecret: env.IDENTIFY_FACE_WEBHOOK_SECRET || undefined,
    allowCallbackHost: callbackHosts.length === 0 ? undefined : (host) => callbackHosts.includes(host),
    shutdownTimeout: Duration.seconds(shutdownSeconds)
  }
}

/**
 * What a server prints when it starts: where it listens, the key to use when one was generated
 * (a configured key is never printed), and a request to try.
 */
export const banner = (options: { readonly url: string; readonly settings: EnvironmentSettings; readonly runs: string }): string => {
  const key = options.settings.generatedKey
  const shownKey = key ?? "<one of IDENTIFY_FACE_API_KEYS>"
  return [
    `identify-face listening on ${options.url} (${options.runs})`,
    `data: ${options.settings.dataDir}`,
    key === undefined ? "API keys: from IDENTIFY_FACE_API_KEYS" : `API key (generated for this run; set IDENTIFY_FACE_API_KEYS to choose): ${key}`,
    "",
    "Try:",
    `  curl -s -X POST ${options.url}/model/v1/videos -H 'Authorization: Bearer ${shownKey}' -H 'Content-Type: video/mp4' --data-binary @clip.mp4`,
    `  curl -s -X POST ${options.url}/model/v1/generation -H 'Authorization: Bearer ${shownKey}' -H 'Content-Type: application/json' -d '{"model":"kirin_identify_face","video_id":"<video_id>"}'`,
    `  curl -s ${options.url}/model/v1/generation/task/<task id> -H 'Authorization: Bearer ${shownKey}'`
  ].join("\n")
}

/** An HTTP server as {@link stopOnSignals} stops it: `node:http`'s, or the one `@hono/node-server` serves with. */
export interface StoppableServer {
  close(callback?: (error?: Error) => void): unknown
  closeIdleConnections?: (() => void) | undefined
  closeAllConnections?: (() => void) | undefined
}

/** What {@link stopOnSignals} stops. */
export interface StopOptions {
  /** It stops accepting at once; the requests in flight may finish. */
  readonly server: StoppableServer
  /** Releases the API (an adapter's `close()`, a handler's `dispose()`): running tasks go back to pending. */
  readonly close: () => Promise<void>
  /** The longest a stop may take; past it the process exits with code 1. */
  readonly timeout: Duration.Duration
}

/**
 * Stops a server process gracefully on SIGTERM or SIGINT, then exits with code 0: no new
 * connection is accepted, the requests in flight get half of `timeout` to finish, then the API
 * is released, which hands running tasks back to `pending` for the next start. Past `timeout`,
 * or at a second signal, the process exits with code 1 at once.
 */
export const stopOnSignals = (options: StopOptions): void => {
  const timeoutMs = Duration.toMillis(options.timeout)
  let stopping = false
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`identify-face: ${signal} again, exiting now`)
      return process.exit(1)
    }
    stopping = true
    console.log(`identify-face: ${signal}, stopping (at most ${Duration.format(options.timeout)})`)
    setTimeout(() => {
      console.error(`identify-face: not stopped within ${Duration.format(options.timeout)}, exiting`)
      process.exit(1)
    }, timeoutMs).unref()
    const requestsDone = new Promise<void>((resolve) => options.server.close(() => resolve()))
    // close() ends the keep-alive connections idle at the time; one whose request ends later would stay open.
    const idleCloser = setInterval(() => options.server.closeIdleConnections?.(), 100)
    // A slow client must not use up the time the tasks need to be handed back: it is cut at half time.
    let halfTime: ReturnType<typeof setTimeout> | undefined
    await Promise.race([requestsDone, new Promise<void>((resolve) => (halfTime = setTimeout(resolve, timeoutMs / 2)))])
    clearTimeout(halfTime)
    clearInterval(idleCloser)
    options.server.closeAllConnections?.()
    await options.close()
    process.exit(0)
  }
  process.on("SIGTERM", (signal) => void stop(signal))
  process.on("SIGINT", (signal) => void stop(signal))
}
