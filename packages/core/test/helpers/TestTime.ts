/**
 * Running effects against the test clock.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/**
 * Runs `effect` while the test clock moves on by `until` and answers its outcome. Still running
 * after that is a test failure at once, not a hang until the test times out.
 */
export const runWhileClockMoves = <A, E>(effect: Effect.Effect<A, E>, until: Duration.DurationInput = "1 hour") =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(until)
    const exit = yield* Fiber.poll(fiber)
    if (Option.isNone(exit)) return yield* Effect.dieMessage(`still running after ${Duration.format(until)}`)
    return yield* exit.value
  })
