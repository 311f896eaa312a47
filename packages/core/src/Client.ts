/**
 * The typed client of the wire contract: for this server or a hosted one with the same format.
 * `identifyFaces` creates a task and polls it on a {@link Schedule}: exponential with jitter,
 * capped, never sooner than the server's poll hint or `Retry-After`, bounded by a total timeout.
 * Interrupting it aborts the request in flight and stops polling. `verifyWebhook` checks a
 * `callback_url` delivery on the receiving side.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as CreateRequest from "./CreateRequest.js"
import {
  ErrorBody,
  RateLimitedError,
  ResultParsingError,
  TaskInterruptedError,
  TransportError,
  fromCode
} from "./Errors.js"
import type { IdentifyFaceError } from "./Errors.js"
import type { VideoRef } from "./Task.js"
import * as Webhooks from "./Webhooks.js"
import { WebhookVerificationError } from "./Webhooks.js"
import { FaceResultFromText, LenientTaskObject, UploadedVideo } from "./Wire.js"
import type { FaceResult, TaskObject } from "./Wire.js"
import type * as Wire from "./Wire.js"

/** How `identifyFaces` polls. */
export interface PollOptions {
  /** The first wait. Default 500 ms. */
  readonly initialDelay?: Duration.DurationInput
  /** Each wait grows by this factor. Default 1.5. */
  readonly factor?: number
  /** No wait is longer. Default 5 s. */
  readonly maxDelay?: Duration.DurationInput
  /** Give up (014002099) when the task has not finished after this long. Default 10 minutes. */
  readonly timeout?: Duration.DurationInput
}

/** Where the client sends requests. */
export interface ClientOptions {
  /** The API's base URL, e.g. `http://localhost:3000` or `https://api.example.com/identify`. */
  readonly baseUrl: string
  /** The bearer key. Sent only in the `Authorization` header. */
  readonly apiKey: string
  /** The fetch to use; the global one by default. */
  readonly fetch?: typeof globalThis.fetch
  readonly poll?: PollOptions
}

/** What a task is created with. */
export type VideoInput = { readonly videoId: string } | { readonly videoUrl: string }

/** Options of waiting for a result. */
export interface WaitOptions {
  /** Called with the task after every poll that finds it still running: its status and progress. */
  readonly onUpdate?: (task: TaskObject) => void
}

/** Options of a create. */
export interface CreateOptions extends WaitOptions {
  readonly idempotencyKey?: string
  readonly callbackUrl?: string
}

/** The errors a client call can fail with. */
export type ClientError = IdentifyFaceError | TransportError

/** The client's operations. */
export interface IdentifyFaceClientService {
  readonly createTask: (video: VideoInput, options?: CreateOptions) => Effect.Effect<TaskObject, ClientError>
  readonly getTask: (id: string) => Effect.Effect<TaskObject, ClientError>
  readonly cancelTask: (id: string) => Effect.Effect<TaskObject, ClientError>
  readonly uploadVideo: (video: Blob, contentType?: "video/mp4" | "video/quicktime") => Effect.Effect<Wire.UploadedVideo, ClientError>
  /** Polls a task until it finishes, answering its result or failing with its error code. */
  readonly waitForResult: (id: string, options?: WaitOptions) => Effect.Effect<FaceResult, ClientError>
  /** Creates a task and waits for its result. */
  readonly identifyFaces: (video: VideoInput, options?: CreateOptions) => Effect.Effect<FaceResult, ClientError>
}

/** The client in use. */
export class IdentifyFaceClient extends Context.Tag("@identify-face/core/IdentifyFaceClient")<IdentifyFaceClient, IdentifyFaceClientService>() {}

const decodeTask = Schema.decodeUnknownEither(LenientTaskObject)
const decodeError = Schema.decodeUnknownEither(ErrorBody)
const decodeUpload = Schema.decodeUnknownEither(UploadedVideo)
const decodeResult = Schema.decodeEither(FaceResultFromText)

/** One poll's outcome, the input of the poll schedule. */
export type PollState =
  | { readonly _tag: "Running"; readonly task: TaskObject; readonly hint: Duration.Duration }
  | { readonly _tag: "Finished"; readonly task: TaskObject }
  | { readonly _tag: "RateLimited"; readonly retryAfter: Duration.Duration }

const isFinished = (task: TaskObject) => task.status === "completed" || task.status === "failed" || task.status === "cancelled"

/**
 * The poll schedule: exponential from `initialDelay` by `factor`, jittered, capped at `maxDelay`,
 * never sooner than the server's hint or `Retry-After`, for as long as the task runs. It never
 * waits past `timeout` (counted from the first poll): the last poll falls on the deadline, and a
 * task still running then ends the schedule.
 */
export const pollSchedule = (options: PollOptions = {}): Schedule.Schedule<PollState, PollState> => {
  const maxDelay = Duration.decode(options.maxDelay ?? "5 seconds")
  const timeout = Duration.decode(options.timeout ?? "10 minutes")
  const backoff = Schedule.exponential(options.initialDelay ?? "500 millis", options.factor ?? 1.5).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay))
  )
  return Schedule.intersect(Schedule.identity<PollState>(), Schedule.elapsed).pipe(
    Schedule.zipLeft(backoff),
    Schedule.modifyDelay(([state, elapsed], delay) => {
      const wanted =
        state._tag === "Running"
          ? Duration.max(delay, Duration.min(state.hint, maxDelay))
          : state._tag === "RateLimited"
            ? Duration.max(delay, state.retryAfter)
            : delay
      return Duration.min(wanted, Duration.subtract(timeout, elapsed))
    }),
    Schedule.whileOutput(([state, elapsed]) => state._tag !== "Finished" && Duration.lessThan(elapsed, timeout)),
    Schedule.map(([state]) => state)
  )
}

/** The result of a finished task, or the error it ended with. */
export const resultOf = (task: TaskObject): Either.Either<FaceResult, IdentifyFaceError> => {
  switch (task.status) {
    case "completed": {
      const text = task.output?.[0]?.content[0]?.text
      if (text === undefined) return Either.left(new ResultParsingError({ message: "the completed task has no output text" }))
      return Either.mapLeft(decodeResult(text), () => new ResultParsingError({ message: "the task's output text is not a face result" }))
    }
    case "failed":
      return Either.left(fromCode(task.error?.code ?? "014002095", task.error?.error_message ?? "the task failed"))
    case "cancelled":
      return Either.left(new TaskInterruptedError({ message: `task ${task.id} was cancelled` }))
    default:
      return Either.left(new TaskInterruptedError({ message: `task ${task.id} has not finished` }))
  }
}

/** The `Retry-After` of an answer in seconds; 1 when it is missing or not a number of seconds. */
const retryAfterSeconds = (response: Response) => {
  const seconds = Number(response.headers.get("retry-after") ?? "1")
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : 1
}

const transport = (message: string, status?: number) =>
  new TransportError(status === undefined ? { message } : { message, status })

/** Makes a client. */
export const make = (options: ClientOptions): IdentifyFaceClientService => {
  const base = options.baseUrl.replace(/\/+$/, "")
  const doFetch = options.fetch ?? globalThis.fetch
  const authorization = `Bearer ${options.apiKey}`

  const send = (path: string, init: RequestInit = {}) =>
    Effect.gen(function* () {
      const response = yield* Effect.tryPromise({
        try: (signal) =>
          doFetch(`${base}${path}`, { ...init, signal, headers: { authorization, accept: "application/json", ...init.headers } }),
        catch: (cause) => transport(`request to ${path} failed: ${String(cause)}`)
      })
      const text = yield* Effect.tryPromise({ try: () => response.text(), catch: () => transport("the response body could not be read", response.status) })
      const body = Either.getOrUndefined(Either.try(() => JSON.parse(text) as unknown))
      if (response.ok) return { body, response }
      const error = decodeError(body)
      if (response.status === 429) {
        // Any 429 is a rate limit, whatever its body: a gateway may not answer with an error body.
        const message = Either.isRight(error) ? error.right.error.error_message : "rate limited"
        return yield* Effect.fail(new RateLimitedError({ message, retryAfterSeconds: retryAfterSeconds(response) }))
      }
      if (Either.isLeft(error)) return yield* Effect.fail(transport(`unexpected ${response.status} answer`, response.status))
      return yield* Effect.fail(fromCode(error.right.error.code, error.right.error.error_message))
    })

  const taskRequest = (path: string, init?: RequestInit) =>
    Effect.flatMap(send(path, init), ({ body, response }) =>
      Either.match(decodeTask(body), {
        onLeft: () => Effect.fail(transport("the answer is not a task object", response.status)),
        onRight: (task) => Effect.succeed({ task, response })
      })
    )

  const taskPath = (id: string) => `/model/v1/generation/task/${encodeURIComponent(id)}`

  const createTask = (video: VideoInput, create: CreateOptions = {}) => {
    const ref: VideoRef = "videoId" in video ? { _tag: "VideoId", id: video.videoId } : { _tag: "VideoUrl", url: video.videoUrl }
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (create.idempotencyKey !== undefined) headers["idempotency-key"] = create.idempotencyKey
    const body = JSON.stringify(CreateRequest.encode({ video: ref, callbackUrl: create.callbackUrl }))
    return Effect.map(taskRequest("/model/v1/generation", { method: "POST", headers, body }), ({ task }) => task)
  }

  const poll = (id: string): Effect.Effect<PollState, ClientError> =>
    taskRequest(taskPath(id)).pipe(
      Effect.map(({ task, response }): PollState => {
        if (isFinished(task)) return { _tag: "Finished", task }
        const hint = Number(response.headers.get("x-poll-after-ms") ?? "0")
        return { _tag: "Running", task, hint: Duration.millis(Number.isFinite(hint) ? hint : 0) }
      }),
      Effect.catchTag("RateLimitedError", (error: RateLimitedError) =>
        Effect.succeed<PollState>({ _tag: "RateLimited", retryAfter: Duration.seconds(error.retryAfterSeconds) })
      )
    )

  const waitForResult = (id: string, wait: WaitOptions = {}) =>
    Effect.repeat(
      Effect.tap(poll(id), (state) => {
        if (state._tag === "Running") wait.onUpdate?.(state.task)
      }),
      pollSchedule(options.poll)
    ).pipe(
      Effect.flatMap((state) =>
        state._tag === "Finished"
          ? resultOf(state.task)
          : Effect.fail(new TaskInterruptedError({ message: `task ${id} did not finish in time` }))
      )
    )

  return {
    createTask,
    getTask: (id) => Effect.map(taskRequest(taskPath(id)), ({ task }) => task),
    cancelTask: (id) => Effect.map(taskRequest(`${taskPath(id)}/cancel`, { method: "POST" }), ({ task }) => task),
    uploadVideo: (video, contentType = "video/mp4") =>
      Effect.flatMap(
        send("/model/v1/videos", { method: "POST", headers: { "content-type": contentType }, body: video }),
        ({ body, response }) =>
          Either.match(decodeUpload(body), {
            onLeft: () => Effect.fail(transport("the answer is not an upload", response.status)),
            onRight: Effect.succeed
          })
      ),
    waitForResult,
    identifyFaces: (video, create) => Effect.flatMap(createTask(video, create), (task) => waitForResult(task.id, create))
  }
}

/** The client as a layer. */
export const layer = (options: ClientOptions): Layer.Layer<IdentifyFaceClient> => Layer.succeed(IdentifyFaceClient, make(options))

/** The client for callers without Effect: every call is a Promise; pass a signal to stop it. */
export interface PromiseClient {
  readonly createTask: (video: VideoInput, options?: CreateOptions & { signal?: AbortSignal }) => Promise<TaskObject>
  readonly getTask: (id: string, options?: { signal?: AbortSignal }) => Promise<TaskObject>
  readonly cancelTask: (id: string, options?: { signal?: AbortSignal }) => Promise<TaskObject>
  readonly uploadVideo: (video: Blob, contentType?: "video/mp4" | "video/quicktime", options?: { signal?: AbortSignal }) => Promise<Wire.UploadedVideo>
  readonly identifyFaces: (video: VideoInput, options?: CreateOptions & { signal?: AbortSignal }) => Promise<FaceResult>
}

const run = <A, E>(effect: Effect.Effect<A, E>, signal: AbortSignal | undefined) =>
  Effect.runPromise(Effect.either(effect), signal === undefined ? undefined : { signal }).then(
    Either.getOrThrowWith((error) => error)
  )

/** A Promise client; a failure rejects with the typed error (`error.code` is its code). */
export const makePromise = (options: ClientOptions): PromiseClient => {
  const client = make(options)
  return {
    createTask: (video, { signal, ...create } = {}) => run(client.createTask(video, create), signal),
    getTask: (id, { signal } = {}) => run(client.getTask(id), signal),
    cancelTask: (id, { signal } = {}) => run(client.cancelTask(id), signal),
    uploadVideo: (video, contentType, { signal } = {}) => run(client.uploadVideo(video, contentType), signal),
    identifyFaces: (video, { signal, ...create } = {}) => run(client.identifyFaces(video, create), signal)
  }
}

/** A received callback: the web `Request`, or its headers and raw body (e.g. Express's `req.headers` and a `Buffer`). */
export type ReceivedWebhook = Request | { readonly headers: Webhooks.HeadersInput; readonly body: string | Uint8Array }

/** How {@link verifyWebhook} checks the timestamp: against `now` (epoch ms), within `tolerance` (default 5 minutes). */
export type VerifyWebhookOptions = Pick<Webhooks.VerifyOptions, "now" | "tolerance">

const invalidPayload = (message: string) => new WebhookVerificationError({ reason: "InvalidPayload", message })

/**
 * Verifies a `callback_url` delivery (Standard Webhooks: see `Webhooks.verify`) with the tenant's
 * webhook secret, or the new and the old one while it rotates, and answers the task object it
 * carries. Read the raw body: one parsed and serialised again does not verify.
 */
export const verifyWebhook = (
  received: ReceivedWebhook,
  secret: Webhooks.WebhookSecret | ReadonlyArray<Webhooks.WebhookSecret>,
  options: VerifyWebhookOptions = {}
): Effect.Effect<TaskObject, WebhookVerificationError> =>
  Effect.gen(function* () {
    const body =
      received instanceof Request
        ? new Uint8Array(yield* Effect.tryPromise({ try: () => received.arrayBuffer(), catch: () => invalidPayload("the body could not be read") }))
        : received.body
    const payload = yield* Webhooks.verify({ ...options, headers: received.headers, body, secret })
    return yield* Either.mapLeft(decodeTask(payload), () => invalidPayload("the body is not a task object"))
  })

/** {@link verifyWebhook} for callers without Effect: rejects with the {@link WebhookVerificationError} (`error.reason` says why). */
export const verifyWebhookPromise = (
  received: ReceivedWebhook,
  secret: Webhooks.WebhookSecret | ReadonlyArray<Webhooks.WebhookSecret>,
  options?: VerifyWebhookOptions
): Promise<TaskObject> => run(verifyWebhook(received, secret, options), undefined)
