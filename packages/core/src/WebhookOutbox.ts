/**
 * `callback_url` webhooks delivered from a durable outbox, so that no crash or restart loses one.
 *
 * - The host's {@link WebhookOutboxService} keeps the callbacks owed. Its task store puts a task
 *   in it with the very write that ends it (completed, failed or cancelled) when the task has a
 *   `callback_url` ({@link owesCallback}), in one transaction, and takes it out with the task.
 *   `@identify-face/node`'s `SqliteStore` and `@identify-face/bullmq`'s `RedisWebhookOutbox` are
 *   such outboxes.
 * - The deliverer ({@link make}, {@link layer}) reads the outbox, claims each due callback (one
 *   claimant at a time, with a token), and POSTs it exactly as {@link Webhooks.layer} does: the
 *   task object as body, the task id as `webhook-id`, signed with the tenant's secrets. The claim
 *   is renewed while the attempt runs; a deliverer killed mid-delivery stops renewing it, and the
 *   callback is due again once it runs out (`claimDuration`).
 * - A failed attempt is retried after each of `retryDelays` in turn (jittered by up to 20% either
 *   way), except a refused address; the attempts are counted in the outbox, so the schedule holds
 *   across restarts and deliverers. A stopped deliverer hands its callbacks back at once, uncounted.
 *
 * A callback is delivered at least once, and once but for one case: a deliverer killed after the
 * receiver answered and before it settled the callback. The repeat carries the same
 * `webhook-id`, so a receiver can drop it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { Config } from "./Config.js"
import { isTaskId } from "./Ids.js"
import * as Task from "./Task.js"
import { checkCallbackUrl, TaskNotifier } from "./TaskNotifier.js"
import type { TaskNotifierService } from "./TaskNotifier.js"
import { TaskStore } from "./TaskStore.js"
import * as Webhooks from "./Webhooks.js"

/**
 * What becomes of a claimed callback: `retryAt` (epoch ms) makes it due again then, unset it is
 * done with and leaves the outbox; `refund` takes back the attempt its claim counted.
 */
export interface Settlement {
  readonly retryAt?: number | undefined
  readonly refund?: boolean | undefined
}

/**
 * The callbacks owed, by task id, each with when it is next due (while claimed, when its claim
 * runs out), the attempts started so far, and the token of its claimant. Times are epoch ms.
 */
export interface WebhookOutboxService {
  /** Ids of callbacks due at `now`, soonest first, at most `limit`. */
  readonly due: (now: number, limit: number) => Effect.Effect<ReadonlyArray<string>>
  /**
   * Claims the callback of `id` with `token` until `until`, if it is due at `now`, counting an
   * attempt. Answers the number of this attempt, or 0 when it is not due (another holds it, or it
   * is gone).
   */
  readonly claim: (id: string, token: string, now: number, until: number) => Effect.Effect<number>
  /** Extends the claim held with `token` to `until`; false when `token` no longer holds it. */
  readonly renew: (id: string, token: string, until: number) => Effect.Effect<boolean>
  /** Ends the claim held with `token` as `settlement` says; false when `token` no longer held it. */
  readonly settle: (id: string, token: string, settlement: Settlement) => Effect.Effect<boolean>
}

/** The outbox in use. */
export class WebhookOutbox extends Context.Tag("@identify-face/core/WebhookOutbox")<WebhookOutbox, WebhookOutboxService>() {}

/** Whether the change from `before` to `after` ends a task with a `callback_url`: its callback is owed from then on. */
export const owesCallback = (before: Task.Task, after: Task.Task): boolean =>
  after.callbackUrl !== undefined && Task.isFinished(after) && !Task.isFinished(before)

/** Options of {@link make}: core's webhook options, and how the deliverer reads the outbox. */
export interface OutboxOptions extends Webhooks.WebhookOptions {
  /**
   * How long a claim on a callback lasts without renewal (renewed every third of it while the
   * attempt runs): how soon a killed deliverer's callback is due again. Default 30 seconds.
   */
  readonly claimDuration?: Duration.DurationInput | undefined
  /** How often the outbox is read for due callbacks besides when a task ends here: the most a retry waits late. Default 1 second. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** Callbacks this process delivers at once. Default 16. */
  readonly concurrency?: number | undefined
}

/** What became of one attempt. */
type Outcome =
  | { readonly _tag: "Done"; readonly message: string }
  | { readonly _tag: "GaveUp"; readonly message: string }
  | { readonly _tag: "Retry"; readonly after: Duration.Duration; readonly message: string }

/**
 * The notifier of a process that does not deliver (an API node whose store writes the outbox):
 * it checks `callback_url`s, letting `allowHost` through although local (tests on loopback), and
 * sends nothing.
 */
export const notifier = (allowHost?: (host: string) => boolean): TaskNotifierService => ({
  checkCallbackUrl: (url) => checkCallbackUrl(url, allowHost),
  finished: () => Effect.void
})

/** {@link notifier} as a layer, for an engine or a runner. */
export const layerNotifier = (allowHost?: (host: string) => boolean): Layer.Layer<TaskNotifier> =>
  Layer.succeed(TaskNotifier, notifier(allowHost))

/**
 * Delivers the callbacks of the outbox for the length of the scope (see the module), and answers
 * the notifier to give the engine and runner: it checks `callback_url`s with `allowHost`, and a
 * task ending here has the outbox read at once rather than at the next poll. Throws
 * `InvalidConfigError` at construction, as {@link Webhooks.layer} does, on a wrong secret or
 * retry delay, or without `Config.publicUrl` (callbacks carry absolute `face_image` URLs).
 */
export const make = (
  options: OutboxOptions
): Effect.Effect<TaskNotifierService, never, Scope.Scope | WebhookOutbox | TaskStore | Config | Webhooks.WebhookSender> =>
  Effect.gen(function* () {
    const outbox = yield* WebhookOutbox
    const store = yield* TaskStore
    const config = yield* Config
    const sender = yield* Webhooks.WebhookSender
    const callbackOf = yield* Effect.sync(() => Webhooks.callbacks(options, config))
    const retryDelays = (options.retryDelays ?? Webhooks.DEFAULT_RETRY_DELAYS).map(Duration.decode)
    const claimMs = Duration.toMillis(Duration.decode(options.claimDuration ?? Duration.seconds(30)))
    const concurrency = options.concurrency ?? 16
    const deliveries = yield* FiberSet.make<void>()
    const wakeups = yield* Queue.sliding<void>(1)

    const keepClaim = (id: string, token: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => outbox.renew(id, token, now + claimMs)).pipe(
        Effect.repeat(Schedule.spaced(Duration.millis(claimMs / 3))),
        Effect.delay(Duration.millis(claimMs / 3))
      )

    /** Makes attempt number `attempt` of the callback of task `id`, and answers what became of it. */
    const attemptOnce = (id: string, attempt: number): Effect.Effect<Outcome> =>
      Effect.gen(function* () {
        const stored = yield* (isTaskId(id) ? store.get(id) : Effect.succeedNone)
        const task = Option.filter(stored, Task.isFinished)
        if (Option.isNone(task) || task.value.callbackUrl === undefined) {
          return { _tag: "Done", message: "dropped: its task is gone" } as const
        }
        const callback = yield* callbackOf(task.value, task.value.callbackUrl)
        const result = yield* Effect.either(Webhooks.deliver(callback, []).pipe(Effect.provideService(Webhooks.WebhookSender, sender)))
        if (Either.isRight(result)) return { _tag: "Done", message: "delivered" } as const
        const delay = retryDelays[attempt - 1]
        if (result.left.reason === "Refused" || delay === undefined) {
          return { _tag: "GaveUp", message: `not delivered after ${attempt} attempts: ${result.left.message}` } as const
        }
        // The jitter of Webhooks.deliver's schedule: by up to 20% either way.
        const after = Duration.millis(Math.round(Duration.toMillis(delay) * (yield* Random.nextRange(0.8, 1.2))))
        return { _tag: "Retry", after, message: `attempt ${attempt} failed (${result.left.message}), retrying in ${Duration.format(after)}` } as const
      })

    /** Delivers a claimed callback once, keeping the claim meanwhile; an interruption hands it back uncounted. */
    const deliverClaimed = (id: string, token: string, attempt: number) =>
      Effect.gen(function* () {
        yield* Effect.forkScoped(keepClaim(id, token))
        yield* Effect.logInfo(`identify-face webhooks: delivering the callback of ${id} (attempt ${attempt})`)
        const outcome = yield* attemptOnce(id, attempt)
        const now = yield* Clock.currentTimeMillis
        const settled = yield* outbox.settle(id, token, { retryAt: outcome._tag === "Retry" ? now + Duration.toMillis(outcome.after) : undefined })
        const log = outcome._tag === "GaveUp" ? Effect.logWarning : Effect.logInfo
        yield* log(`identify-face webhooks: the callback of ${id} ${outcome.message}`)
        if (!settled) {
          // This process stalled past its claim: another deliverer may have sent the callback too.
          yield* Effect.logWarning(`identify-face webhooks: the claim on the callback of ${id} ran out during the attempt`)
        }
      }).pipe(
        Effect.scoped,
        Effect.onInterrupt(() => Effect.flatMap(Clock.currentTimeMillis, (now) => outbox.settle(id, token, { retryAt: now, refund: true }))),
        Effect.catchAllCause((cause) => Effect.logWarning(`identify-face webhooks: the callback of ${id} failed`, cause))
      )

    /** Claims the due callbacks this process has room for, and delivers each on a fiber of its own. */
    const drain = Effect.gen(function* () {
      const room = concurrency - (yield* FiberSet.size(deliveries))
      if (room <= 0) return
      const now = yield* Clock.currentTimeMillis
      for (const id of yield* outbox.due(now, room)) {
        const token = crypto.randomUUID()
        const attempt = yield* outbox.claim(id, token, now, now + claimMs)
        if (attempt > 0) yield* FiberSet.run(deliveries, deliverClaimed(id, token, attempt))
      }
    })

    const pollInterval = options.pollInterval ?? Duration.seconds(1)
    yield* Effect.forkScoped(
      Effect.forever(
        drain.pipe(
          Effect.catchAllCause((cause) => Effect.logWarning("identify-face webhooks: reading the outbox failed", cause)),
          Effect.zipRight(Effect.race(Effect.sleep(pollInterval), Queue.take(wakeups)))
        )
      )
    )

    return {
      ...notifier(options.allowHost),
      // The store put the callback in the outbox with the task's final write: read it now.
      finished: (task) => (task.callbackUrl === undefined ? Effect.void : Effect.asVoid(Queue.offer(wakeups, undefined)))
    } satisfies TaskNotifierService
  })

/** The deliverer as a layer: the notifier of an engine or runner, delivering while the layer lives. */
export const layer = (options: OutboxOptions): Layer.Layer<TaskNotifier, never, WebhookOutbox | TaskStore | Config | Webhooks.WebhookSender> =>
  Layer.scoped(TaskNotifier, make(options))
