/**
 * The HTTP API of API.md, once, over web `Request` and `Response`: every adapter (Express, Hono,
 * the test double's server) only hands requests in and responses out, so all of them answer
 * byte for byte alike.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ArtifactStore } from "./ArtifactStore.js"
import { Authenticator } from "./Authenticator.js"
import type { Tenant } from "./Authenticator.js"
import { Config } from "./Config.js"
import * as CreateRequest from "./CreateRequest.js"
import {
  InvalidParametersError,
  MethodNotAllowedError,
  NotFoundError,
  UnsupportedMediaTypeError,
  toErrorObject
} from "./Errors.js"
import type { IdentifyFaceError } from "./Errors.js"
import { IdempotencyStore } from "./IdempotencyStore.js"
import { isFileKey } from "./Ids.js"
import type { FileKey } from "./Ids.js"
import { multipartFile, rawBody, readLimited } from "./internal/body.js"
import { sha256, toHex } from "./internal/bytes.js"
import { PollPacer } from "./PollPacer.js"
import { RateLimiter } from "./RateLimiter.js"
import type { Task } from "./Task.js"
import { TaskEngine } from "./TaskEngine.js"
import { fileUrlAt, toTaskObject } from "./TaskView.js"
import type { FileUrl } from "./TaskView.js"
import { VideoStore } from "./VideoStore.js"
import { IdempotencyKey } from "./Wire.js"
import { openApiDocument } from "./OpenApi.js"

/** The services the API runs on. */
export type HttpApiServices = TaskEngine | Authenticator | VideoStore | ArtifactStore | Config | RateLimiter | PollPacer | IdempotencyStore

/** Where the API is mounted. */
export interface HandleOptions {
  /** The path prefix the API is mounted under, e.g. `/api`; the default is the root. */
  readonly basePath?: string | undefined
}

/** The video upload content types read as a raw body. */
export const VIDEO_CONTENT_TYPES = ["video/mp4", "video/quicktime"] as const

const jsonHeaders = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff"
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { ...jsonHeaders, ...headers } })

/** The answer to a refused request: `{ message, error: { code, error_message } }`. */
export const errorResponse = (error: IdentifyFaceError, headers: Record<string, string> = {}): Response => {
  const extra: Record<string, string> = { ...headers }
  if (error._tag === "RateLimitedError") extra["retry-after"] = String(error.retryAfterSeconds)
  if (error._tag === "UnauthorizedError") extra["www-authenticate"] = 'Bearer realm="identify-face"'
  // A client that stalled mid-body gets no more of the connection: the server closes it after the answer.
  if (error._tag === "RequestTimeoutError") extra.connection = "close"
  return json(error.status, { message: error.message, error: toErrorObject(error) }, extra)
}

const notFound = (message = "no such route") => Effect.fail(new NotFoundError({ message }))

const contentType = (request: Request) => (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? ""

const decodeJson = (bytes: Uint8Array) =>
  Either.try({
    try: () => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown,
    catch: () => new InvalidParametersError({ message: "the body is not valid JSON" })
  })

/** A stable digest of a request body, for `Idempotency-Key`. */
const fingerprint = (bytes: Uint8Array<ArrayBuffer>) => Effect.map(sha256(bytes), toHex)

interface Context {
  readonly request: Request
  readonly url: URL
  readonly fileUrl: FileUrl
}

const authenticated = <A, E, R>(context: Context, f: (tenant: Tenant) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const tenant = yield* Effect.flatMap(Authenticator, (auth) => auth.authenticate(context.request.headers.get("authorization")))
    yield* Effect.flatMap(RateLimiter, (limiter) => limiter.take(tenant.id))
    return yield* f(tenant)
  })

const taskResponse = (context: Context, task: Task, status = 200) =>
  Effect.gen(function* () {
    if (task._tag !== "pending" && task._tag !== "processing") return json(status, toTaskObject(task, context.fileUrl))
    const hint = yield* Effect.flatMap(PollPacer, (pacer) => pacer.next)
    return json(status, toTaskObject(task, context.fileUrl), { "x-poll-after-ms": String(Duration.toMillis(hint)) })
  })

const createTask = (context: Context) =>
  authenticated(context, (tenant) =>
    Effect.gen(function* () {
      const config = yield* Config
      const engine = yield* TaskEngine
      const bytes = yield* readLimited(context.request, config.maxJsonBytes, config)
      const input = yield* Either.flatMap(decodeJson(bytes), CreateRequest.decode)
      const keyHeader = context.request.headers.get("idempotency-key")
      if (keyHeader === null) return yield* taskResponse(context, yield* engine.submit(tenant, input))
      const key = yield* Schema.decodeUnknown(IdempotencyKey)(keyHeader).pipe(
        Effect.mapError(() => new InvalidParametersError({ message: "Idempotency-Key must be 1 to 255 visible ASCII characters" }))
      )
      const idempotency = yield* IdempotencyStore
      const id = yield* idempotency.once(
        { tenant: tenant.id, key, fingerprint: yield* fingerprint(bytes) },
        Effect.map(engine.submit(tenant, input), (task) => task.id)
      )
      return yield* taskResponse(context, yield* engine.get(tenant, id))
    })
  )

const uploadVideo = (context: Context) =>
  authenticated(context, (tenant) =>
    Effect.gen(function* () {
      const config = yield* Config
      const store = yield* VideoStore
      const type = contentType(context.request)
      const body =
        type === "multipart/form-data"
          ? multipartFile(context.request, "file", config)
          : (VIDEO_CONTENT_TYPES as ReadonlyArray<string>).includes(type)
            ? rawBody(context.request, config)
            : undefined
      if (body === undefined) {
        return yield* Effect.fail(
          new UnsupportedMediaTypeError({ message: "upload a multipart/form-data field \"file\", or a raw video/mp4 or video/quicktime body" })
        )
      }
      const now = yield* Clock.currentTimeMillis
      const stored = yield* store.put(body, {
        tenant: tenant.id,
        maxBytes: config.maxVideoBytes,
        expiresAt: now + Duration.toMillis(config.sessionTtl)
      })
      return json(200, { video_id: stored.id, bytes: stored.bytes, expires_at: Math.floor(stored.expiresAt / 1000) })
    })
  )

const serveFile = (key: string) =>
  Effect.gen(function* () {
    if (!isFileKey(key)) return yield* notFound("no such file")
    const now = yield* Clock.currentTimeMillis
    const artifact = yield* Effect.flatMap(ArtifactStore, (store) => store.get(key as FileKey, now))
    if (Option.isNone(artifact)) return yield* notFound("no such file, or it has expired")
    const maxAge = Math.max(0, Math.floor((artifact.value.expiresAt - now) / 1000))
    // A SharedArrayBuffer never reaches here: stores hold plain buffers.
    return new Response(artifact.value.bytes as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: {
        "content-type": artifact.value.contentType,
        "cache-control": `private, max-age=${maxAge}, immutable`,
        "x-content-type-options": "nosniff",
        "content-length": String(artifact.value.bytes.byteLength)
      }
    })
  })

type Route = {
  readonly pattern: RegExp
  readonly methods: Partial<Record<string, (context: Context, params: ReadonlyArray<string>) => Effect.Effect<Response, IdentifyFaceError, HttpApiServices>>>
}

const segment = "([^/]+)"

const routes: ReadonlyArray<Route> = [
  { pattern: /^\/healthz$/, methods: { GET: () => Effect.succeed(json(200, { status: "ok" })) } },
  { pattern: /^\/openapi\.json$/, methods: { GET: () => Effect.succeed(json(200, openApiDocument)) } },
  { pattern: /^\/model\/v1\/generation$/, methods: { POST: createTask } },
  {
    pattern: new RegExp(`^/model/v1/generation/task/${segment}$`),
    methods: {
      GET: (context, [id = ""]) =>
        authenticated(context, (tenant) => Effect.flatMap(Effect.flatMap(TaskEngine, (engine) => engine.get(tenant, id)), (task) => taskResponse(context, task)))
    }
  },
  {
    pattern: new RegExp(`^/model/v1/generation/task/${segment}/cancel$`),
    methods: {
      POST: (context, [id = ""]) =>
        authenticated(context, (tenant) => Effect.flatMap(Effect.flatMap(TaskEngine, (engine) => engine.cancel(tenant, id)), (task) => taskResponse(context, task, 202)))
    }
  },
  { pattern: /^\/model\/v1\/videos$/, methods: { POST: uploadVideo } },
  { pattern: new RegExp(`^/model/v1/files/${segment}$`), methods: { GET: (_, [key = ""]) => serveFile(key) } }
]

const normaliseBase = (basePath: string | undefined) => (basePath ?? "").replace(/\/+$/, "")

/** The path of `pathname` under the mount `basePath`, or undefined when it is outside the mount. */
const pathUnder = (pathname: string, basePath: string | undefined) => {
  const base = normaliseBase(basePath)
  return pathname.startsWith(base) ? pathname.slice(base.length) || "/" : undefined
}

const apiPath = /^\/(?:healthz|openapi\.json|model\/v1\/.*)$/

/**
 * Whether the API answers `pathname` (a URL's path, mount included): `/healthz`, `/openapi.json`
 * and everything under `/model/v1/`. An adapter mounted beside a host app's own routes passes
 * every other path on, and still answers a malformed id under `/model/v1/` with the JSON 404.
 */
export const ownsPath = (pathname: string, options: HandleOptions = {}): boolean => {
  const path = pathUnder(pathname, options.basePath)
  return path !== undefined && apiPath.test(path)
}

/**
 * Answers one request. Never fails: every refusal is an error body with its code, and a defect is
 * logged and answered 500 with 014002095, so the server keeps serving.
 */
export const handle = (request: Request, options: HandleOptions = {}): Effect.Effect<Response, never, HttpApiServices> =>
  Effect.gen(function* () {
    const url = new URL(request.url)
    const base = normaliseBase(options.basePath)
    const config = yield* Config
    const path = pathUnder(url.pathname, base)
    const context: Context = { request, url, fileUrl: fileUrlAt(config.publicUrl ?? `${url.origin}${base}`) }
    const route = path === undefined ? undefined : routes.find((candidate) => candidate.pattern.test(path))
    if (route === undefined || path === undefined) return yield* notFound()
    const method = request.method === "HEAD" ? "GET" : request.method
    const handler = route.methods[method]
    if (handler === undefined) {
      const allowed = Object.keys(route.methods).join(", ")
      return errorResponse(new MethodNotAllowedError({ message: `${request.method} is not allowed here; use ${allowed}` }), { allow: allowed })
    }
    const params = route.pattern.exec(path)?.slice(1) ?? []
    return yield* handler(context, params)
  }).pipe(
    Effect.catchAll((error) => Effect.succeed(errorResponse(error))),
    Effect.catchAllDefect((defect) =>
      Effect.as(
        Effect.logError("identify-face: request failed", defect),
        json(500, { message: "internal error", error: { code: "014002095", error_message: "internal error" } })
      )
    )
  )
