import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Multipasta from "multipasta"
import type { IdentifyFaceConfig } from "../Config.js"
import { InvalidParametersError, PayloadTooLargeError, RequestTimeoutError } from "../Errors.js"

/** How long a body may take: each chunk, and the whole. */
export type BodyTimeouts = Pick<IdentifyFaceConfig, "bodyIdleTimeout" | "bodyTimeout">

/** Why a body could not be read. */
type BodyError = InvalidParametersError | RequestTimeoutError

type Read = Effect.Effect<ReadableStreamReadResult<Uint8Array>, BodyError>

const tooLarge = (maxBytes: number) => new PayloadTooLargeError({ message: `the request body is larger than ${maxBytes} bytes` })

const unreadable = () => new InvalidParametersError({ message: "the request body could not be read" })

/**
 * Reads a request body one chunk at a time: each read may wait at most `bodyIdleTimeout`, and all
 * of them end by `bodyTimeout` after the first, so a client that trickles bytes (slow loris) is
 * answered 408 instead of holding its connection. The reader is cancelled when the scope closes.
 */
const bodyReader = (request: Request, timeouts: BodyTimeouts): Effect.Effect<Read, never, Scope.Scope> =>
  Effect.gen(function* () {
    if (request.body === null) return Effect.succeed({ done: true, value: undefined })
    const reader = request.body.getReader()
    yield* Effect.addFinalizer(() => Effect.promise(() => reader.cancel().catch(() => undefined)))
    const idle = Duration.toMillis(timeouts.bodyIdleTimeout)
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(timeouts.bodyTimeout)
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const totalFirst = deadline - now < idle
      return Effect.tryPromise({ try: () => reader.read(), catch: unreadable }).pipe(
        Effect.timeoutFail({
          duration: Math.max(0, Math.min(idle, deadline - now)),
          onTimeout: () =>
            new RequestTimeoutError({
              message: totalFirst
                ? `the request body took longer than ${Duration.format(timeouts.bodyTimeout)}`
                : `the request body sent nothing for ${Duration.format(timeouts.bodyIdleTimeout)}`
            })
        })
      )
    })
  })

/** Reads a whole body, refusing it as soon as it passes `maxBytes` (declared or streamed). */
export const readLimited = (
  request: Request,
  maxBytes: number,
  timeouts: BodyTimeouts
): Effect.Effect<Uint8Array<ArrayBuffer>, PayloadTooLargeError | BodyError> =>
  Effect.gen(function* () {
    const declared = Number(request.headers.get("content-length") ?? "0")
    if (declared > maxBytes) return yield* Effect.fail(tooLarge(maxBytes))
    const read = yield* bodyReader(request, timeouts)
    const chunks: Array<Uint8Array> = []
    let total = 0
    for (;;) {
      const { done, value } = yield* read
      if (done) break
      total += value.byteLength
      if (total > maxBytes) return yield* Effect.fail(tooLarge(maxBytes))
      chunks.push(value)
    }
    const body = new Uint8Array(total)
    let offset = 0
    for (const chunk of chunks) {
      body.set(chunk, offset)
      offset += chunk.byteLength
    }
    return body
  }).pipe(Effect.scoped)

/** A request's raw body as a stream. */
export const rawBody = (request: Request, timeouts: BodyTimeouts): Stream.Stream<Uint8Array, BodyError> =>
  Stream.unwrapScoped(
    Effect.map(bodyReader(request, timeouts), (read) =>
      Stream.repeatEffectOption(
        Effect.flatMap(Effect.mapError(read, Option.some), (result) => (result.done ? Effect.fail(Option.none()) : Effect.succeed(result.value)))
      )
    )
  )

const multipartMessage = (error: Multipasta.MultipartError) => {
  switch (error._tag) {
    case "ReachedLimit":
      return `the multipart body has too many or too large parts (${error.limit})`
    case "EndNotReached":
      return "the multipart body ended early"
    default:
      return `the multipart body is malformed (${error._tag})`
  }
}

/**
 * The content of the multipart part named `field`, streamed as it arrives, with backpressure:
 * the body is read no faster than the consumer takes the part's chunks.
 */
export const multipartFile = (request: Request, field: string, timeouts: BodyTimeouts): Stream.Stream<Uint8Array, BodyError> =>
  Stream.asyncScoped<Uint8Array, BodyError>((emit) =>
    Effect.gen(function* () {
      const headers = Object.fromEntries(request.headers)
      let found = false
      let failed = false
      const pending: Array<Promise<unknown>> = []
      const fail = (error: BodyError) => {
        if (!failed) {
          failed = true
          void emit.fail(error)
        }
      }
      const invalid = (message: string) => fail(new InvalidParametersError({ message }))
      const parser = Multipasta.make({
        headers,
        maxParts: 16,
        maxFieldSize: 64 * 1024,
        onField: () => undefined,
        onFile: (info) => {
          if (info.name !== field || found) return () => undefined
          found = true
          return (chunk) => {
            if (chunk !== null) pending.push(emit.single(chunk))
          }
        },
        onError: (error) => invalid(multipartMessage(error)),
        onDone: () => {
          if (failed) return
          if (found) void Promise.all(pending).then(() => emit.end())
          else invalid(`the multipart field "${field}" is required`)
        }
      })
      if (request.body === null) return invalid("the request has no body")
      const read = yield* bodyReader(request, timeouts)
      const pump = Effect.gen(function* () {
        for (;;) {
          const { done, value } = yield* read
          if (done || failed) break
          parser.write(value)
          yield* Effect.promise(() => Promise.all(pending.splice(0)))
        }
        if (!failed) parser.end()
      })
      yield* Effect.forkScoped(Effect.catchAll(pump, (error) => Effect.sync(() => fail(error))))
    }), { bufferSize: 16, strategy: "suspend" })
