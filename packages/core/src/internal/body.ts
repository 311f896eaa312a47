import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Multipasta from "multipasta"
import { InvalidParametersError, PayloadTooLargeError } from "../Errors.js"

const tooLarge = (maxBytes: number) => new PayloadTooLargeError({ message: `the request body is larger than ${maxBytes} bytes` })

/** Reads a whole body, refusing it as soon as it passes `maxBytes` (declared or streamed). */
export const readLimited = (request: Request, maxBytes: number): Effect.Effect<Uint8Array<ArrayBuffer>, PayloadTooLargeError | InvalidParametersError> =>
  Effect.gen(function* () {
    const declared = Number(request.headers.get("content-length") ?? "0")
    if (declared > maxBytes) return yield* Effect.fail(tooLarge(maxBytes))
    if (request.body === null) return new Uint8Array(0)
    const reader = request.body.getReader()
    const chunks: Array<Uint8Array> = []
    let total = 0
    const read = Effect.tryPromise({
      try: () => reader.read(),
      catch: () => new InvalidParametersError({ message: "the request body could not be read" })
    })
    for (;;) {
      const { done, value } = yield* read
      if (done) break
      total += value.byteLength
      if (total > maxBytes) {
        yield* Effect.promise(() => reader.cancel().catch(() => undefined))
        return yield* Effect.fail(tooLarge(maxBytes))
      }
      chunks.push(value)
    }
    const body = new Uint8Array(total)
    let offset = 0
    for (const chunk of chunks) {
      body.set(chunk, offset)
      offset += chunk.byteLength
    }
    return body
  })

const unreadable = () => new InvalidParametersError({ message: "the request body could not be read" })

/** A request's raw body as a stream. */
export const rawBody = (request: Request): Stream.Stream<Uint8Array, InvalidParametersError> =>
  request.body === null ? Stream.empty : Stream.fromReadableStream(() => request.body as ReadableStream<Uint8Array>, unreadable)

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
export const multipartFile = (request: Request, field: string): Stream.Stream<Uint8Array, InvalidParametersError> =>
  Stream.asyncScoped<Uint8Array, InvalidParametersError>((emit) =>
    Effect.gen(function* () {
      const headers = Object.fromEntries(request.headers)
      let found = false
      let failed = false
      const pending: Array<Promise<unknown>> = []
      const fail = (message: string) => {
        if (!failed) {
          failed = true
          void emit.fail(new InvalidParametersError({ message }))
        }
      }
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
        onError: (error) => fail(multipartMessage(error)),
        onDone: () => {
          if (failed) return
          if (found) void Promise.all(pending).then(() => emit.end())
          else fail(`the multipart field "${field}" is required`)
        }
      })
      const reader = request.body?.getReader()
      if (reader === undefined) return fail("the request has no body")
      yield* Effect.addFinalizer(() => Effect.promise(() => reader.cancel().catch(() => undefined)))
      const pump = async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done || failed) break
          parser.write(value)
          await Promise.all(pending.splice(0))
        }
        if (!failed) parser.end()
      }
      yield* Effect.forkScoped(Effect.promise(() => pump().catch(() => fail("the request body could not be read"))))
    }), { bufferSize: 16, strategy: "suspend" })
