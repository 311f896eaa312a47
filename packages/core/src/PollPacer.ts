/**
 * The poll interval suggested in `X-Poll-After-Ms`, paced to the load. Polls cost CPU on the
 * machine that may also run the analyses: with `Config.pollBudget` set, while clients poll
 * unfinished tasks more often than that in all, the suggestion grows (up to {@link MAX_HINT}) so
 * that clients following it poll about `pollBudget` times a second together; when they poll less,
 * it shrinks back to `Config.pollHint`. A paced hint is jittered by up to half either way, so that
 * clients that polled together spread out. Without a budget it is always `pollHint`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Config } from "./Config.js"

/** The longest interval suggested, whatever the load. */
export const MAX_HINT: Duration.Duration = Duration.seconds(30)

/** Suggests poll intervals. */
export interface PollPacerService {
  /** Counts one poll of an unfinished task and answers the interval to suggest. */
  readonly next: Effect.Effect<Duration.Duration>
}

/** The pacer in use. */
export class PollPacer extends Context.Tag("@identify-face/core/PollPacer")<PollPacer, PollPacerService>() {}

/**
 * The pacing itself, without Effect: a function of the time of each poll (epoch ms) to the hint
 * for it (ms). `pollHint` in ms; `budget` polls a second.
 */
export const pacing = (pollHint: number, budget: number): ((now: number) => number) => {
  const max = Math.max(pollHint, Duration.toMillis(MAX_HINT))
  let hint = pollHint
  let windowStart = Number.NEGATIVE_INFINITY
  let polls = 0
  return (now) => {
    // A window as long as the hint in force: every client that follows it polls about once in it,
    // so its polls count the clients, which at `clients / budget` seconds apart make `budget` a
    // second. It grows fast, as a crowd arrives at once, and shrinks by at most half a window:
    // clients still on a shorter hint poll twice in a window, and would make it swing.
    if (now - windowStart >= Math.max(hint, 1000)) {
      const wanted = windowStart === Number.NEGATIVE_INFINITY ? pollHint : (polls / budget) * 1000
      hint = Math.min(max, Math.max(pollHint, hint / 2, Math.min(hint * 8, wanted)))
      windowStart = now
      polls = 0
    }
    polls++
    // Once paced, spread by up to half either way: a crowd that arrived together polls apart at once.
    return Math.round(hint === pollHint ? hint : Math.min(max, hint * (0.5 + Math.random())))
  }
}

/** The pacer of the settings in force. */
export const make: Effect.Effect<PollPacerService, never, Config> = Effect.map(Config, (config) => {
  if (config.pollBudget === undefined) return { next: Effect.succeed(config.pollHint) }
  const next = pacing(Duration.toMillis(config.pollHint), config.pollBudget)
  return { next: Effect.map(Clock.currentTimeMillis, (now) => Duration.millis(next(now))) }
})

/** The pacer as a layer. */
export const layer: Layer.Layer<PollPacer, never, Config> = Layer.effect(PollPacer, make)
