/**
 * Callbacks of finished tasks, signed the Standard Webhooks way (https://www.standardwebhooks.com):
 * headers `webhook-id` (the task id, the same on every attempt), `webhook-timestamp` (Unix
 * seconds of the attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
 *
 * - Receivers check a callback with {@link verify} (or `Client.verifyWebhook`): the signature,
 *   compared in constant time, and the timestamp, at most 5 minutes off either way.
 * - Secrets are per tenant, derived from one server secret ({@link tenantSecret}): the server
 *   keeps one secret, and no tenant can sign a callback that another tenant would accept. The
 *   host tells each tenant its secret, e.g. on an account page. To rotate the server secret, give
 *   the new and the old one: callbacks carry a signature by each until the old one is dropped.
 * - Delivery ({@link layer}) is the {@link TaskNotifier} that POSTs each task with a
 *   `callback_url` that ends (completed, failed or cancelled) through the host's
 *   {@link WebhookSender}, retrying with backoff. It runs beside the task and never delays or
 *   changes it. Retries wait in memory: a crash or a shutdown loses the retries pending, and the
 *   callback of a task that ended just before. A host with a durable store delivers from an
 *   outbox instead (`WebhookOutbox`), which builds each callback with {@link callbacks}.
 *
 * Uses WebCrypto only, so it runs wherever the core does.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Config, InvalidConfigError } from "./Config.js"
import type { IdentifyFaceConfig } from "./Config.js"
import { equalInConstantTime, fromBase64, toBase64 } from "./internal/bytes.js"
import type { FinishedTask } from "./Task.js"
import { checkCallbackUrl, TaskNotifier } from "./TaskNotifier.js"
import type { TaskNotifierService } from "./TaskNotifier.js"
import { fileUrlAt, toTaskObject } from "./TaskView.js"
import type { FileUrl } from "./TaskView.js"

/** A signing secret: `whsec_` and base64, the Standard Webhooks form; the prefix may be left out. */
export type WebhookSecret = string

/** The headers of a signed callback. A type, not an interface, so that it is also a {@link HeadersInput}. */
export type WebhookHeaders = {
  readonly "webhook-id": string
  readonly "webhook-timestamp": string
  readonly "webhook-signature": string
}

/** How far from now a receiver accepts a callback's timestamp, either way. */
export const DEFAULT_TOLERANCE: Duration.Duration = Duration.minutes(5)

/** The waits before the retries of a failed delivery; after the last, delivery gives up. */
export const DEFAULT_RETRY_DELAYS: ReadonlyArray<Duration.DurationInput> = ["5 seconds", "30 seconds", "2 minutes", "10 minutes", "1 hour"]

/** A callback that does not verify: why, and a message for people. */
export class WebhookVerificationError extends Schema.TaggedError<WebhookVerificationError>()("WebhookVerificationError", {
  reason: Schema.Literal("MissingHeaders", "InvalidTimestamp", "TimestampTooOld", "TimestampTooNew", "InvalidSignature", "InvalidPayload"),
  message: Schema.String
}) {}

/**
 * A delivery attempt failed: the URL or the address it resolves to is refused (never retried),
 * the receiver could not be reached in time, or it answered other than 2xx (`status`).
 */
export class WebhookDeliveryError extends Schema.TaggedError<WebhookDeliveryError>()("WebhookDeliveryError", {
  reason: Schema.Literal("Refused", "Unreachable", "Rejected"),
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {}

const SECRET_PREFIX = "whsec_"

/** Standard Webhooks secrets are 24 to 64 bytes; a server secret is no weaker. */
const MIN_SERVER_SECRET_BYTES = 24

const encoder = new TextEncoder()

/** The key of a secret. Throws {@link InvalidConfigError} on one that is not base64. */
const keyOf = (secret: WebhookSecret): Uint8Array<ArrayBuffer> => {
  const key = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret)
  if (key === undefined || key.length === 0) {
    throw new InvalidConfigError(`identify-face: a webhook secret must be ${SECRET_PREFIX} and base64`)
  }
  return key
}

const listOf = (secret: WebhookSecret | ReadonlyArray<WebhookSecret>): ReadonlyArray<WebhookSecret> =>
  typeof secret === "string" ? [secret] : secret

const hmac = (key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>) =>
  Effect.promise(async () => {
    const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, data))
  })

/** What is signed: `id.timestamp.body`, the body byte for byte. */
const signedContent = (id: string, timestamp: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> => {
  const head = encoder.encode(`${id}.${timestamp}.`)
  const tail = typeof body === "string" ? encoder.encode(body) : body
  const content = new Uint8Array(head.length + tail.length)
  content.set(head)
  content.set(tail, head.length)
  return content
}

/** The HMAC of the content under a secret; a secret that is not base64 is a defect. */
const macOf = (content: Uint8Array<ArrayBuffer>, secret: WebhookSecret) => Effect.suspend(() => hmac(keyOf(secret), content))

const macsOf = (content: Uint8Array<ArrayBuffer>, secret: WebhookSecret | ReadonlyArray<WebhookSecret>) =>
  Effect.forEach(listOf(secret), (one) => macOf(content, one))

/** A new random server secret: `whsec_` and base64 of 32 bytes. */
export const generateSecret = (): WebhookSecret => `${SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`

/**
 * The secret a tenant's callbacks are signed with: HMAC-SHA256 of `identify-face/webhook/<tenant>`
 * under the server secret, as `whsec_` and base64. The same on every call, so the host can show a
 * tenant its secret whenever asked (for keys of `Authenticator.layerKeys`, the tenant is
 * `Authenticator.tenantOf(key)`). Without Effect: `Effect.runPromise(tenantSecret(...))`.
 */
export const tenantSecret = (serverSecret: WebhookSecret, tenant: string): Effect.Effect<WebhookSecret> =>
  Effect.map(macOf(encoder.encode(`identify-face/webhook/${tenant}`), serverSecret), (key) => `${SECRET_PREFIX}${toBase64(key)}`)

/** What {@link sign} signs. */
export interface SignOptions {
  /** The message id; the same on every attempt, so a receiver can drop a repeat. */
  readonly id: string
  /** Unix seconds: the time of this attempt. */
  readonly timestamp: number
  /** The body exactly as sent. */
  readonly body: string | Uint8Array
  /** One secret, or several while one rotates: a signature by each. */
  readonly secret: WebhookSecret | ReadonlyArray<WebhookSecret>
}

/** The Standard Webhooks headers of a message. */
export const sign = (options: SignOptions): Effect.Effect<WebhookHeaders> => {
  const timestamp = String(Math.floor(options.timestamp))
  return Effect.map(macsOf(signedContent(options.id, timestamp, options.body), options.secret), (macs) => ({
    "webhook-id": options.id,
    "webhook-timestamp": timestamp,
    "webhook-signature": macs.map((mac) => `v1,${toBase64(mac)}`).join(" ")
  }))
}

/** Request headers: a web `Headers`, or a record such as Node's `IncomingHttpHeaders`. */
export type HeadersInput = Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** What {@link verify} checks. */
export interface VerifyOptions {
  readonly headers: HeadersInput
  /** The raw body as received: a body parsed and serialised again does not verify. */
  readonly body: string | Uint8Array
  /** One secret, or several while one rotates: a signature by any of them is accepted. */
  readonly secret: WebhookSecret | ReadonlyArray<WebhookSecret>
  /** The time to check the timestamp against, epoch milliseconds. Default: the `Clock`. */
  readonly now?: number | undefined
  /** How far the timestamp may be from now, either way. Default 5 minutes. */
  readonly tolerance?: Duration.DurationInput | undefined
}

const headerOf = (headers: HeadersInput, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined
  const value = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1]
  return typeof value === "string" ? value : value?.join(" ")
}

const refuse = (reason: WebhookVerificationError["reason"], message: string) =>
  Effect.fail(new WebhookVerificationError({ reason, message }))

/**
 * Checks a Standard Webhooks message and answers its parsed JSON body: the three headers present,
 * the timestamp within `tolerance` of now, and a `v1` signature (of those space-separated in
 * `webhook-signature`) made with one of the secrets. A secret that is not base64 is a defect
 * ({@link InvalidConfigError}).
 */
export const verify = (options: VerifyOptions): Effect.Effect<unknown, WebhookVerificationError> =>
  Effect.gen(function* () {
    const id = headerOf(options.headers, "webhook-id")
    const timestamp = headerOf(options.headers, "webhook-timestamp")
    const signature = headerOf(options.headers, "webhook-signature")
    if (id === undefined || timestamp === undefined || signature === undefined) {
      return yield* refuse("MissingHeaders", "webhook-id, webhook-timestamp and webhook-signature are required")
    }
    if (!/^\d{1,15}$/.test(timestamp)) return yield* refuse("InvalidTimestamp", "webhook-timestamp is not a whole number of seconds")
    const now = options.now ?? (yield* Clock.currentTimeMillis)
    const tolerance = Duration.toSeconds(options.tolerance ?? DEFAULT_TOLERANCE)
    const age = now / 1000 - Number(timestamp)
    if (age > tolerance) return yield* refuse("TimestampTooOld", `the message was signed ${Math.round(age)} s ago, more than ${tolerance} s`)
    if (age < -tolerance) return yield* refuse("TimestampTooNew", `the message is timestamped ${Math.round(-age)} s ahead, more than ${tolerance} s`)
    const expected = yield* macsOf(signedContent(id, timestamp, options.body), options.secret)
    const presented = signature.split(" ").flatMap((entry) => {
      const mac = entry.startsWith("v1,") ? fromBase64(entry.slice(3)) : undefined
      return mac === undefined ? [] : [mac]
    })
    if (!presented.some((candidate) => expected.some((mac) => equalInConstantTime(candidate, mac)))) {
      return yield* refuse("InvalidSignature", "no v1 signature matches the secret")
    }
    const text = typeof options.body === "string" ? options.body : new TextDecoder().decode(options.body)
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new WebhookVerificationError({ reason: "InvalidPayload", message: "the body is not JSON" })
    })
  })

/** Sends callbacks. */
export interface WebhookSenderService {
  /**
   * POSTs one signed callback; succeeds on a 2xx answer. It follows no redirect and connects
   * only to addresses the SSRF rules allow (`@identify-face/node`'s `WebhookSender` checks them at
   * connect time).
   */
  readonly send: (url: string, headers: WebhookHeaders, body: string) => Effect.Effect<void, WebhookDeliveryError>
}

/** The callback sender in use. */
export class WebhookSender extends Context.Tag("@identify-face/core/WebhookSender")<WebhookSender, WebhookSenderService>() {}

/** One callback to deliver. */
export interface Callback {
  readonly url: string
  /** The `webhook-id`: the same on every attempt. */
  readonly id: string
  readonly body: string
  /** The secrets it is signed with: the tenant's, one per server secret. */
  readonly secret: WebhookSecret | ReadonlyArray<WebhookSecret>
}

const retrySchedule = (delays: ReadonlyArray<Duration.DurationInput>): Schedule.Schedule<unknown> => {
  const [first, ...rest] = delays
  return first === undefined ? Schedule.stop : Schedule.jittered(Schedule.fromDelays(first, ...rest))
}

/**
 * Delivers one callback through the {@link WebhookSender}. Each attempt is signed at its own time,
 * so a late retry is not stale. A failed attempt is retried after each of `retryDelays` in turn,
 * each jittered by up to 20% either way, except a refused address; then it fails with the last error.
 */
export const deliver = (
  callback: Callback,
  retryDelays: ReadonlyArray<Duration.DurationInput> = DEFAULT_RETRY_DELAYS
): Effect.Effect<void, WebhookDeliveryError, WebhookSender> =>
  Effect.flatMap(WebhookSender, (sender) => {
    const attempt = Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => sign({ id: callback.id, timestamp: now / 1000, body: callback.body, secret: callback.secret })),
      Effect.flatMap((headers) => sender.send(callback.url, headers, callback.body))
    )
    return Effect.retry(attempt, { schedule: retrySchedule(retryDelays), while: (error) => error.reason !== "Refused" })
  })

/** Options of the delivering notifier. */
export interface WebhookOptions {
  /**
   * The server secret: `whsec_` and base64 of at least 24 bytes, e.g. from {@link generateSecret}.
   * Each tenant's secret is derived from it. While it rotates, the new and the old one.
   */
  readonly secret: WebhookSecret | ReadonlyArray<WebhookSecret>
  /** The waits before each retry; after the last, delivery gives up. Default {@link DEFAULT_RETRY_DELAYS}. */
  readonly retryDelays?: ReadonlyArray<Duration.DurationInput> | undefined
  /** Hosts the create check lets through although they are local (tests on loopback); give the sender the same. */
  readonly allowHost?: ((host: string) => boolean) | undefined
}

/** Callbacks carry absolute `face_image` URLs, and no request tells the origin: they need `publicUrl`. */
const callbackFileUrl = (config: IdentifyFaceConfig): FileUrl => {
  if (config.publicUrl === undefined) {
    throw new InvalidConfigError("identify-face: webhooks need config.publicUrl, the origin of the face_image URLs a callback carries")
  }
  return fileUrlAt(config.publicUrl)
}

/** Checks the options and answers the `face_image` URLs of callbacks; throws {@link InvalidConfigError}. */
const validate = (options: WebhookOptions, config: IdentifyFaceConfig): FileUrl => {
  const secrets = listOf(options.secret)
  if (secrets.length === 0) throw new InvalidConfigError("identify-face: webhooks need a secret")
  for (const secret of secrets) {
    if (keyOf(secret).length < MIN_SERVER_SECRET_BYTES) {
      throw new InvalidConfigError(`identify-face: a webhook server secret must hold at least ${MIN_SERVER_SECRET_BYTES} bytes`)
    }
  }
  for (const delay of options.retryDelays ?? []) {
    const decoded = Duration.decodeUnknown(delay)
    if (Option.isNone(decoded) || !Duration.isFinite(decoded.value)) {
      throw new InvalidConfigError(`identify-face: webhooks.retryDelays must be finite durations, got ${String(delay)}`)
    }
  }
  return callbackFileUrl(config)
}

/**
 * Checks webhook options against the settings: throws {@link InvalidConfigError} on a server
 * secret that is not `whsec_` and base64 of at least 24 bytes, a retry delay that is not a finite
 * duration, or when `publicUrl` is unset. `Server.layer` calls it at construction.
 */
export const checkOptions = (options: WebhookOptions, config: IdentifyFaceConfig): void => {
  validate(options, config)
}

/**
 * Checks the options against the settings (as {@link checkOptions}, throwing
 * {@link InvalidConfigError}) and answers how a finished task's callback to `url` is made: its
 * task object as the body, the task id as `webhook-id`, signed with the tenant's secrets. For
 * hosts that deliver callbacks their own way, e.g. from a durable outbox.
 */
export const callbacks = (
  options: WebhookOptions,
  config: IdentifyFaceConfig
): ((task: FinishedTask, url: string) => Effect.Effect<Callback>) => {
  const fileUrl = validate(options, config)
  return (task, url) =>
    Effect.map(
      Effect.forEach(listOf(options.secret), (serverSecret) => tenantSecret(serverSecret, task.tenant)),
      (secret) => ({ url, id: task.id, body: JSON.stringify(toTaskObject(task, fileUrl)), secret })
    )
}

/**
 * The notifier that delivers callbacks: each ended task with a `callback_url` is POSTed as its
 * task object, signed with its tenant's secret, on a fiber of its own that lives as long as the
 * scope. A delivery that gives up is logged as a warning.
 */
export const make = (options: WebhookOptions): Effect.Effect<TaskNotifierService, never, Scope.Scope | Config | WebhookSender> =>
  Effect.gen(function* () {
    const config = yield* Config
    const sender = yield* WebhookSender
    const callbackOf = yield* Effect.sync(() => callbacks(options, config))
    const deliveries = yield* FiberSet.make<void>()

    const announce = (task: FinishedTask, url: string) =>
      callbackOf(task, url).pipe(
        Effect.flatMap((callback) => deliver(callback, options.retryDelays)),
        Effect.provideService(WebhookSender, sender),
        Effect.catchAllCause((cause) => Effect.logWarning(`identify-face: the callback of ${task.id} was not delivered`, cause))
      )

    return {
      checkCallbackUrl: (url) => checkCallbackUrl(url, options.allowHost),
      finished: (task) =>
        task.callbackUrl === undefined
          ? Effect.void
          : // The runner announces in an uninterruptible region, which a fork inherits: a shutdown must still stop the retries.
            Effect.asVoid(FiberSet.run(deliveries, Effect.interruptible(announce(task, task.callbackUrl))))
    } satisfies TaskNotifierService
  })

/** The delivering notifier as a layer; provide it to the engine (or a worker's runner). */
export const layer = (options: WebhookOptions): Layer.Layer<TaskNotifier, never, Config | WebhookSender> =>
  Layer.scoped(TaskNotifier, make(options))
