/**
 * A Node readable as an Effect stream. Unlike its async iterator, whose `return` waits for a
 * pending read, this can be interrupted while the source is silent (a stalled download).
 */
import type { Readable } from "node:stream"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

const prematureClose = () => Object.assign(new Error("the stream closed before its end"), { code: "ERR_STREAM_PREMATURE_CLOSE" })

/** The next chunk, or None at the end; waits without holding anything while there is none. */
const nextChunk = <E>(readable: Readable, onError: (cause: unknown) => E) =>
  Effect.async<Uint8Array, Option.Option<E>>((resume) => {
    const fail = (cause: unknown) => resume(Effect.fail(Option.some(onError(cause))))
    const onReadable = () => {
      const chunk = readable.read() as Uint8Array | null
      if (chunk !== null) {
        detach()
        resume(Effect.succeed(chunk))
      }
    }
    const onEnd = () => {
      detach()
      resume(Effect.fail(Option.none()))
    }
    const onFailure = (cause: unknown) => {
      detach()
      fail(cause)
    }
    const onClose = () => {
      detach()
      if (readable.readableEnded) resume(Effect.fail(Option.none()))
      else fail(readable.errored ?? prematureClose())
    }
    const detach = () => {
      readable.off("readable", onReadable)
      readable.off("end", onEnd)
      readable.off("error", onFailure)
      readable.off("close", onClose)
    }
    if (readable.readableEnded) return resume(Effect.fail(Option.none()))
    if (readable.errored !== null || readable.destroyed) return fail(readable.errored ?? prematureClose())
    readable.on("readable", onReadable)
    readable.on("end", onEnd)
    readable.on("error", onFailure)
    readable.on("close", onClose)
    onReadable()
    return Effect.sync(detach)
  })

/**
 * Reads a readable chunk by chunk, no faster than the stream is pulled, and destroys it when the
 * stream ends, fails or is interrupted.
 */
export const fromReadable = <E>(open: () => Readable, onError: (cause: unknown) => E): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => {
          const readable = open()
          // Errors between two pulls are read from `errored` by the next one; unhandled, they would crash.
          readable.on("error", () => undefined)
          return readable
        }),
        (readable) => Effect.sync(() => readable.destroy())
      ),
      (readable) => Stream.repeatEffectOption(nextChunk(readable, onError))
    )
  )
